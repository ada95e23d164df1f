// Swagger UI as warehouse staff meet it, in headless Chromium: open the site's root (redirected
// to /swagger-ui/), log in through the login operation's "Try it out", authorize with the token,
// reload (the authorization must survive it), run `GET /api/v1/me` and see the user. Any
// failing step, page error or unexpected answer fails the run; a screenshot of the end is kept.
// Usage: node swagger-ui.mjs BASE_URL SCREENSHOT.png
import { chromium } from 'playwright-core';

const [base, screenshot] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  // as root in CI: no sandbox; the machine's network is closed, so nothing in the background
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const errors = [];
let page;
const started = Date.now();
const step = (what) => console.log(`swagger-ui: ${what} (at ${((Date.now() - started) / 1000).toFixed(1)}s)`);
try {
  page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  // CI runs this beside the compiler, the suite and the fuzzing on two cores: a render of the
  // whole document can take long there, and this checks what the page does, not how fast
  page.setDefaultTimeout(120000);
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  // the page may load nothing from outside: every asset is served by echelon itself
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) errors.push(`outside request: ${r.url()}`);
  });

  step('open the root');
  await page.goto(`${base}/`);
  if (!page.url().startsWith(`${base}/swagger-ui/`)) throw new Error(`/ led to ${page.url()}`);
  await page.waitForSelector('#operations-auth-login');

  step('log in through POST /api/v1/auth/login');
  const login = page.locator('#operations-auth-login');
  await login.locator('.opblock-summary').click();
  await login.locator('button.try-out__btn').click();
  await login.locator('textarea.body-param__text')
    .fill(JSON.stringify({ username: 'admin', password: 'echelon-demo' }));
  await login.locator('button.execute').click();
  const answer = login.locator('.live-responses-table .response-col_description pre.microlight').first();
  await answer.waitFor();
  const body = JSON.parse(await answer.innerText());
  if (!body.access_token) throw new Error(`the login answered ${JSON.stringify(body)}`);

  step('authorize with the token');
  await page.locator('.auth-wrapper button.authorize').click();
  await page.locator('.modal-ux input[type=text]').fill(body.access_token);
  await page.locator('.modal-ux .auth-btn-wrapper button.authorize').click();
  await page.locator('.modal-ux button.btn-done').click();
  await page.locator('.auth-wrapper button.authorize.locked').waitFor();

  step('reload: still authorized');
  await page.reload();
  await page.waitForSelector('#operations-auth-me');
  await page.locator('.auth-wrapper button.authorize.locked').waitFor();

  step('run GET /api/v1/me');
  const me = page.locator('#operations-auth-me');
  await me.locator('.opblock-summary').click();
  await me.locator('button.try-out__btn').click();
  await me.locator('button.execute').click();
  const status = me.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor();
  const code = (await status.innerText()).trim();
  const text = await me.locator('.live-responses-table .response-col_description pre.microlight').first().innerText();
  if (code !== '200' || !text.includes('"admin"')) throw new Error(`GET /api/v1/me answered ${code}: ${text}`);
  if (errors.length) throw new Error(errors.join('\n'));
  step('all steps passed');
} catch (e) {
  console.error(`swagger-ui: FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  if (page && screenshot) await page.screenshot({ path: screenshot, fullPage: false }).catch(() => {});
  await browser.close();
}
