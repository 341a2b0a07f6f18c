/**
 * Next.js configuration. The breaker is a native addon: Next must load it with Node's require at
 * run time instead of bundling it, so the package is listed in serverExternalPackages.
 * @type {import('next').NextConfig}
 */
const config = {
  serverExternalPackages: ['agent-circuit-breaker', 'ioredis', 'prom-client'],
  typescript: { tsconfigPath: 'tsconfig.next.json' },
};

export default config;
