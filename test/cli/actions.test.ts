import { describe, expect, it } from 'vitest';
import type { Batch, Schedule } from '../../src/types.js';
import { CALL_SID, CONFERENCE_SID, cliEnv, confbulk, withPrefix } from './run-cli.js';

const conf = ['--conference', CONFERENCE_SID];

describe('action commands without --wait', () => {
  it('print the batch id, which status then shows', async () => {
    await withPrefix(async ({ prefix, workKeys }) => {
      const env = cliEnv(prefix);
      const { code, stdout, stderr } = await confbulk(
        env,
        'hold',
        ...conf,
        '--except',
        CALL_SID,
        '--hold-url',
        'https://music.example.com/a.mp3',
      );
      // No worker runs in this test: the command says so at once, on stderr.
      expect(code).toBe(0);
      expect(stderr).toMatch(/^confbulk: warning: no worker serves space default/);
      const id = stdout.trim();
      expect(id).toMatch(/^\S+$/);
      expect((await workKeys()).length).toBeGreaterThan(0);

      const status = await confbulk(env, 'status', id);
      expect(status.code).toBe(0);
      expect(status.stdout).toContain(
        `batch ${id}: hold on conference ${CONFERENCE_SID} (except 1) in space default:`,
      );

      const json = await confbulk(env, 'status', id, '--json');
      expect(JSON.parse(json.stdout)).toMatchObject({
        id,
        action: 'hold',
        params: { Hold: true, HoldUrl: 'https://music.example.com/a.mp3' },
      });

      const unknown = await confbulk(env, 'status', 'b-unknown');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toBe("confbulk: batch 'b-unknown' not found\n");
    });
  });

  it('print {created, batch} with --json, and created: false for a repeated idempotency key', async () => {
    await withPrefix(async ({ prefix }) => {
      const env = cliEnv(prefix);
      const args = [
        'update',
        ...conf,
        '--call',
        CALL_SID,
        '--set',
        'Muted=true',
        '--set',
        'Hold=false',
        '--idempotency-key',
        'k-1',
        '--json',
      ];
      const first = await confbulk(env, ...args);
      const again = await confbulk(env, ...args);
      expect([first.code, again.code]).toEqual([0, 0]);
      const a = JSON.parse(first.stdout) as { created: boolean; batch: Batch };
      const b = JSON.parse(again.stdout) as { created: boolean; batch: Batch };
      expect(a).toMatchObject({
        created: true,
        batch: {
          action: 'update',
          params: { Muted: true, Hold: false },
          target: { callSids: [CALL_SID] },
        },
      });
      expect(b.created).toBe(false);
      expect(b.batch.id).toBe(a.batch.id);

      const list = await confbulk(env, 'batches', '--json');
      expect((JSON.parse(list.stdout) as Batch[]).map((x) => x.id)).toEqual([a.batch.id]);
    });
  });
});

describe('schedule and dlq commands', () => {
  it('add, list and remove a schedule', async () => {
    await withPrefix(async ({ prefix }) => {
      const env = cliEnv(prefix);
      const added = await confbulk(
        env,
        'schedule',
        'add',
        'mute',
        '--name',
        'weekday-mute',
        '--cron',
        '0 9 * * 1-5',
        '--tz',
        'Europe/Paris',
        ...conf,
        '--json',
      );
      expect(added.code).toBe(0);
      expect(JSON.parse(added.stdout)).toMatchObject({
        name: 'weekday-mute',
        cron: '0 9 * * 1-5',
        tz: 'Europe/Paris',
        request: { action: 'mute' },
      });

      const list = await confbulk(env, 'schedule', 'list');
      expect(list.stdout).toMatch(
        /^weekday-mute: mute on conference .* cron '0 9 \* \* 1-5' \(Europe\/Paris\), next run \d{4}-/,
      );
      const listed = await confbulk(env, 'schedule', 'list', '--json');
      expect((JSON.parse(listed.stdout) as Schedule[]).map((s) => s.name)).toEqual([
        'weekday-mute',
      ]);

      expect(await confbulk(env, 'schedule', 'remove', 'weekday-mute')).toMatchObject({
        code: 0,
        stdout: 'schedule weekday-mute removed\n',
      });
      expect(await confbulk(env, 'schedule', 'remove', 'weekday-mute')).toMatchObject({
        code: 1,
        stderr: "confbulk: no schedule named 'weekday-mute'\n",
      });
    });
  });

  it('list no dead letters and refuse an unknown one', async () => {
    await withPrefix(async ({ prefix }) => {
      const env = cliEnv(prefix);
      expect(await confbulk(env, 'dlq', 'list')).toMatchObject({
        code: 0,
        stdout: 'no dead letters\n',
      });
      expect(JSON.parse((await confbulk(env, 'dlq', 'list', '--json')).stdout)).toEqual({
        total: 0,
        deadLetters: [],
      });
      const unknown = `b_0.${CALL_SID}`;
      expect(await confbulk(env, 'dlq', 'show', unknown)).toMatchObject({
        code: 2,
        stderr: `confbulk: dead letter '${unknown}' not found\n`,
      });
      expect(await confbulk(env, 'dlq', 'replay', unknown)).toMatchObject({
        code: 2,
        stderr: `confbulk: unknown dead-letter id(s): ${unknown}\n`,
      });
      // Ids are checked before Redis is asked: BullMQ's own keys are no dead letters.
      expect(await confbulk(env, 'dlq', 'show', 'meta')).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(
          /^confbulk: id: 'meta' is not a dead-letter id; an id looks like <batch id>\.<call SID>/,
        ),
      });
      expect(await confbulk(env, 'dlq', 'purge', unknown, 'meta')).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/^confbulk: ids\[1\]: 'meta' is not a dead-letter id/),
      });
    });
  });
});
