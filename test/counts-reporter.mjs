// A node:test reporter for `npm run test:unit` / `test:process`, beside the spec reporter: it ends
// the output with one line of counts (passed, failed, skipped, todo) and fails the run when any test
// was skipped or left todo. A test whose precondition is missing must fail and say why; a skip
// would let a missing dataset, browser or binary pass in silence. (Filtering with
// --test-name-pattern also reports the tests it leaves out as skipped: run `node --test` directly then.)
export default async function* countsReporter(source) {
  const notRun = [];
  const counts = {};
  for await (const event of source) {
    const d = event.data;
    if (event.type === 'test:pass' && (d.skip !== undefined || d.todo !== undefined)) {
      const why = d.skip !== undefined ? `skipped${typeof d.skip === 'string' ? `: ${d.skip}` : ''}` : `todo${typeof d.todo === 'string' ? `: ${d.todo}` : ''}`;
      notRun.push(`  ${d.name} (${why})${d.file ? ` — ${d.file}` : ''}`);
    }
    if (event.type === 'test:diagnostic' && d.nesting === 0) {
      const m = /^(tests|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(d.message);
      if (m) counts[m[1]] = Number(m[2]);
    }
  }
  const n = (k) => counts[k] ?? 0;
  yield `\nTests: ${n('pass')} passed, ${n('fail') + n('cancelled')} failed, ${n('skipped')} skipped, ${n('todo')} todo (${n('tests')} in all)\n`;
  if (notRun.length) {
    yield `A test that does not run fails the suite (a missing precondition must fail with its reason):\n${notRun.join('\n')}\n`;
    process.exitCode = 1;
  }
}
