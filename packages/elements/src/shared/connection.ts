import { createContext } from '@lit/context';

/** What a `<sales-process-provider>` hands down to the elements inside it. */
export interface Connection {
  baseUrl: string;
  token: string;
  lang?: string;
}

export const connectionContext = createContext<Connection | undefined>(Symbol.for('sales-process/connection'));
