// A Vue 3 host: the kit from its npm tarball, its tags used in a Vue template.
import { createApp, ref } from 'vue';
import '@sales-process/elements';
import { KIT, OPPORTUNITY, PROCESS, tokenProvider } from './probe.js';

const app = createApp({
  template: `
    <main>
      <p id="moves">{{ moves }}</p>
      <sales-process-provider :base-url="kit" :tokenProvider="adminToken">
        <sales-process-designer :process-id="processId"></sales-process-designer>
        <sales-funnel-chart :process-id="processId"></sales-funnel-chart>
      </sales-process-provider>
      <sales-process-provider :base-url="kit" :tokenProvider="salesToken">
        <form id="host-form">
          <opportunity-stage-path :opportunity-id="opportunityId" style="--sp-color-accent: rgb(1, 2, 3)" @sp-stage-changed="moved"></opportunity-stage-path>
          <stage-feedback-form name="feedback" :opportunity-id="opportunityId"></stage-feedback-form>
        </form>
      </sales-process-provider>
    </main>`,
  setup() {
    const moves = ref(0);
    return {
      kit: KIT,
      processId: PROCESS,
      opportunityId: OPPORTUNITY,
      adminToken: tokenProvider('admin'),
      salesToken: tokenProvider('zhang'),
      moves,
      moved: () => moves.value++,
    };
  },
});
app.config.compilerOptions.isCustomElement = (tag) => tag.includes('-');
app.mount('#app');
