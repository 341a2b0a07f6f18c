import { hhmmss } from './format';
import type { FleetLink } from './types';

/** Fleet mode's link to Redis: connected or not, instances seen, last sync. Rendered only in fleet mode. */
export function FleetLinkPanel({ link }: { link: FleetLink }) {
  return (
    <section className="fleet" aria-labelledby="fleet-heading">
      <h2 id="fleet-heading">Fleet link</h2>
      <dl className="figures inline">
        <div>
          <dt>Link</dt>
          <dd className={link.connected ? 'ok' : 'bad'}>{link.connected ? 'connected' : 'disconnected'}</dd>
        </div>
        <div>
          <dt>Instances seen</dt>
          <dd>{link.instancesSeen}</dd>
        </div>
        <div>
          <dt>This instance</dt>
          <dd>
            <code>{link.instanceId}</code>
          </dd>
        </div>
        <div>
          <dt>Last sync</dt>
          <dd>{link.lastSyncAt ? <time dateTime={link.lastSyncAt}>{hhmmss(link.lastSyncAt)}</time> : 'never'}</dd>
        </div>
        <div>
          <dt>Sync errors</dt>
          <dd>{link.syncErrors}</dd>
        </div>
      </dl>
    </section>
  );
}
