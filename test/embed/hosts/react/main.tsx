// A React 19 host: the kit from its npm tarball, through the typed @lit/react wrappers.
import { useState, type CSSProperties } from 'react';
import { createRoot } from 'react-dom/client';
import {
  OpportunityStagePath,
  SalesFunnelChart,
  SalesProcessDesigner,
  SalesProcessProvider,
  StageFeedbackForm,
} from '@sales-process/elements/react';
import { KIT, OPPORTUNITY, PROCESS, tokenProvider } from './probe.js';

const adminToken = tokenProvider('admin');
const salesToken = tokenProvider('zhang');

function App() {
  const [moves, setMoves] = useState(0);
  return (
    <main>
      <p id="moves">{moves}</p>
      <SalesProcessProvider baseUrl={KIT} tokenProvider={adminToken}>
        <SalesProcessDesigner processId={PROCESS} />
        <SalesFunnelChart processId={PROCESS} />
      </SalesProcessProvider>
      <SalesProcessProvider baseUrl={KIT} tokenProvider={salesToken}>
        <form id="host-form">
          <OpportunityStagePath
            opportunityId={OPPORTUNITY}
            style={{ '--sp-color-accent': 'rgb(1, 2, 3)' } as CSSProperties}
            onSpStageChanged={(e) => setMoves((n) => n + (e.detail.opportunityId === OPPORTUNITY ? 1 : 0))}
          />
          <StageFeedbackForm name="feedback" opportunityId={OPPORTUNITY} />
        </form>
      </SalesProcessProvider>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
