/** The root layout: the document shell and the dashboard's stylesheet. */

import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import './dashboard/dashboard.css';

/** The document's title and description. */
export const metadata: Metadata = {
  title: 'Agent circuit breakers',
  description: 'Per-agent circuit breakers: state, failures, error rate, fallbacks and recovery, live.',
  // No favicon request: the app has none to serve.
  icons: { icon: 'data:,' },
};

/** The html and body around every page. */
export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
