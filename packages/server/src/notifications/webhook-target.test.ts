import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testDatabases, waitFor, type TestServer } from '../testing/harness.js';
import { checkWebhookUrl, isPublicAddress } from './webhook-target.js';

describe('webhook targets', () => {
  it('takes only public unicast addresses, IPv4 and IPv6, mapped forms included', () => {
    for (const inside of [
      '127.0.0.1',
      '127.1.2.3',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '240.0.0.1',
      '198.18.0.1',
      '::',
      '::1',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::a00:1',
      '2002:a00:1::1',
      '2001::1',
      'not an address',
    ])
      expect([inside, isPublicAddress(inside)]).toEqual([inside, false]);
    for (const outside of [
      '93.184.216.34',
      '8.8.8.8',
      '1.1.1.1',
      '2606:4700:4700::1111',
      '2001:4860:4860::8888',
      '::ffff:8.8.8.8',
    ])
      expect([outside, isPublicAddress(outside)]).toEqual([outside, true]);
  });

  it('judges the IPv6 forms that embed an IPv4 address by that address, and refuses IPv4-compatible ::/96 outright', () => {
    for (const inside of [
      // IPv4-compatible (deprecated; ipaddr.js calls it unicast), in every spelling.
      '::127.0.0.1',
      '::7f00:1',
      '::0:7f00:1',
      '0:0:0:0:0:0:7f00:1',
      '::a00:1',
      '::10.0.0.1',
      '::a9fe:a9fe',
      '::8.8.8.8',
      '::808:808',
      // Mapped and translated (RFC 6145).
      '::ffff:7f00:1',
      '::ffff:0:7f00:1',
      '::ffff:0:127.0.0.1',
      '::ffff:0:a9fe:a9fe',
      // NAT64 (well-known prefix) of inside addresses, and local-use NAT64 of anything.
      '64:ff9b::127.0.0.1',
      '64:ff9b::7f00:1',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b::c0a8:101',
      '64:ff9b:1::808:808',
      '64:ff9b:1::7f00:1',
      // 6to4 of inside addresses.
      '2002:7f00:1::1',
      '2002:c0a8:101::',
      '2002:a9fe:a9fe::1',
      // Teredo with an inside server, or an inside client (stored inverted: 127.0.0.1 → 80ff:fffe).
      '2001:0:7f00:1::1',
      '2001:0:a00:1:0:0:f7f7:f7f7',
      '2001:0:808:808:0:0:80ff:fffe',
      '2001:0:808:808::f5ff:fffe',
    ])
      expect([inside, isPublicAddress(inside)]).toEqual([inside, false]);
    for (const outside of [
      '::ffff:0:808:808',
      '64:ff9b::808:808',
      '64:ff9b::8.8.8.8',
      '2002:808:808::1',
      '2001:0:808:808::f7f7:f7f7',
    ])
      expect([outside, isPublicAddress(outside)]).toEqual([outside, true]);
  });

  it('refuses at configuration what can never be delivered', () => {
    const strict = { allowHttp: false, allowPrivate: false };
    const refused = (url: string, policy = strict) => {
      try {
        checkWebhookUrl(url, policy);
        return false;
      } catch (e) {
        return (e as { code?: string }).code === 'VALIDATION_FAILED';
      }
    };
    for (const url of [
      'http://hooks.example.com/x',
      'ftp://hooks.example.com/x',
      'file:///etc/passwd',
      'https://user:pw@hooks.example.com/x',
      'https://:pw@hooks.example.com/',
      'https://127.0.0.1/x',
      'https://2130706433/x',
      'https://0x7f.1/x',
      'https://[::1]/x',
      'https://[::ffff:127.0.0.1]/x',
      'https://169.254.169.254/latest/meta-data',
      'https://10.1.2.3/',
      'https://localhost:8787/api/v1/dev/clock',
      'https://foo.localhost/',
      'https://[fe80::1]/',
      'nonsense',
      'https://[::127.0.0.1]/',
      'https://[::7f00:1]/',
      'https://[::a00:1]:8443/',
      'https://[::ffff:0:127.0.0.1]/',
      'https://[64:ff9b::127.0.0.1]/',
      'https://[2002:7f00:1::1]/',
      'https://[2001:0:808:808::80ff:fffe]/',
    ])
      expect([url, refused(url)]).toEqual([url, true]);
    for (const url of ['https://hooks.example.com/x', 'https://93.184.216.34/x', 'https://[2606:4700:4700::1111]/x'])
      expect([url, refused(url)]).toEqual([url, false]);
    // http: and private targets when the server allows them.
    expect(refused('http://127.0.0.1:9/x', { allowHttp: true, allowPrivate: true })).toBe(false);
    expect(refused('http://hooks.example.com/x', { allowHttp: true, allowPrivate: false })).toBe(false);
    expect(refused('http://127.0.0.1:9/x', { allowHttp: true, allowPrivate: false })).toBe(true);
  });
});

for (const kind of testDatabases()) {
  describe(`webhook deliveries that would reach inside, on ${kind.name}`, () => {
    let t: TestServer;
    let receiver: Server;
    let port: number;
    let connections = 0;
    beforeAll(async () => {
      receiver = createServer((req, res) => {
        req.resume();
        res.end('ok');
      });
      receiver.on('connection', () => connections++);
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      port = (receiver.address() as { port: number }).port;
      // http: allowed (as a local setup might), private targets not.
      t = await startTestServer(await kind.open(), { webhooks: { allowHttp: true, allowPrivate: false } });
    });
    afterAll(async () => {
      await t.close();
      await new Promise((r) => receiver.close(r));
    });

    it('answers 400 when configured with a loopback, private or credentialed URL', async () => {
      const admin = t.as('admin', ['admin']);
      for (const url of [
        `http://127.0.0.1:${port}/hook`,
        `http://[::ffff:127.0.0.1]:${port}/`,
        `http://[::127.0.0.1]:${port}/`,
        `http://localhost:${port}/`,
        'http://u:p@hooks.example.com/',
      ])
        expect([url, (await admin.put('/webhook', { url, secret: 'whsec-0123456789' })).status]).toEqual([url, 400]);
      expect((await admin.get('/webhook')).body.configured).toBe(false);
    });

    it('resolves the host at delivery and records a refusal without connecting', async () => {
      const admin = t.as('admin', ['admin']);
      // A name that resolves to this machine passes configuration (names may change) …
      const url = `http://${hostname()}:${port}/hook`;
      expect((await admin.put('/webhook', { url, secret: 'whsec-0123456789' })).status).toBe(200);
      // … and a URL stored before these rules (or by hand) is checked again at delivery.
      const { db } = t.server.services.ctx.database;
      const webhooks = t.server.services.webhooks;
      await webhooks.enqueue(db, 't1', { type: 'test.by-name', data: {} });
      await db.execute(
        sql`update tenants set webhook_url = ${`http://[::ffff:127.0.0.1]:${port}/hook`} where id = 't1'`,
      );
      await webhooks.enqueue(db, 't1', { type: 'test.mapped', data: {} });
      await webhooks.deliverDue();
      // IPv4-compatible (::/96), which URL stores as [::7f00:1].
      await db.execute(sql`update tenants set webhook_url = ${`http://[::127.0.0.1]:${port}/hook`} where id = 't1'`);
      await webhooks.enqueue(db, 't1', { type: 'test.compatible', data: {} });
      await webhooks.deliverDue();
      const items = await waitFor(
        async () => {
          const list = (await admin.get('/webhook/deliveries')).body.items as {
            state: string;
            attempts: { status: number | null; error: string }[];
          }[];
          return list.length === 3 && list.every((d) => d.state === 'failed') ? list : null;
        },
        3000,
        'three refused deliveries',
      );
      for (const d of items!) {
        expect(d.attempts).toHaveLength(1);
        expect(d.attempts[0]!.status).toBeNull();
        expect(d.attempts[0]!.error).toMatch(/^refused/);
      }
      expect(connections).toBe(0);
    });

    it('delivers to this machine only when private targets are allowed', async () => {
      const open = await startTestServer(await kind.open(), { webhooks: { allowPrivate: true } });
      try {
        expect(
          (
            await open
              .as('admin', ['admin'])
              .put('/webhook', { url: `http://127.0.0.1:${port}/hook`, secret: 'whsec-0123456789' })
          ).status,
        ).toBe(200);
        const { db } = open.server.services.ctx.database;
        await open.server.services.webhooks.enqueue(db, 't1', { type: 'test.allowed', data: {} });
        await open.server.services.webhooks.deliverDue();
        const d = await waitFor(
          async () =>
            (await open.as('admin', ['admin']).get('/webhook/deliveries')).body.items.find(
              (x: { state: string }) => x.state === 'delivered',
            ),
          3000,
          'a delivery',
        );
        expect(d.attempts.map((a: { status: number }) => a.status)).toEqual([200]);
        expect(connections).toBeGreaterThan(0);
      } finally {
        await open.close();
      }
    });
  });
}
