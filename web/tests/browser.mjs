// Browser tests of the price band identification tool, in headless Chromium through
// playwright-core. Run by scripts/browser-test.sh: node browser.mjs BASE_URL ARTIFACTS_DIR.
//
// Expected answers are never copied: each is what careband's own API says for the same query.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error('usage: node browser.mjs BASE_URL ARTIFACTS_DIR');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const DATE = '2019-06-01';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});

let failed = 0;
let passed = 0;
async function check(name, fn) {
  // Reduced motion: the map then draws without zoom animations, so screenshots are stable.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const t0 = Date.now();
  try {
    await fn(page, context);
    if (errors.length) throw new Error('script errors on the page: ' + errors.join('; '));
    passed++;
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(e.stack || e).split('\n').join('\n  ')}`);
    await page.screenshot({ path: join(artifacts, `failed-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
  } finally {
    await context.close();
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function api(path) {
  const res = await fetch(base + path);
  return { status: res.status, body: await res.json() };
}

// What the card must say for an API answer: band name (or rate name), rate, nearest surgery,
// areas; or the reason there is no band.
function expectations(answer) {
  const res = answer.resolution;
  if (!res.covered) return [res.outside_reason];
  const out = [];
  for (const s of res.schemes) {
    const b = s.banding;
    if (b && b.in_banded_region && b.band) out.push(b.band.name);
    if (s.rate) out.push('£' + s.rate.hourly.toFixed(2));
    if (b && b.nearest_centre) out.push(b.nearest_centre.code);
    for (const a of s.areas) out.push((a.matched || a).name);
    for (const l of s.providers) for (const t of l.tiers) for (const p of t.providers) out.push(p.name);
  }
  return out;
}

async function open(page, query = '') {
  await page.goto(`${base}/?date=${DATE}${query}`);
  await page.waitForFunction(() => document.getElementById('dataset-version').textContent !== 'loading');
}

async function searchFor(page, text) {
  await page.fill('#q', text);
  await page.click('#search-button');
}

async function resultText(page) {
  await page.waitForSelector('[data-testid=answer], #result .error');
  return page.textContent('#result');
}

async function cardShows(page, answer) {
  await page.waitForSelector('[data-testid=answer]');
  const text = await page.textContent('#result');
  for (const want of expectations(answer)) {
    assert(text.includes(want), `the card lacks "${want}": ${text}`);
  }
  return text;
}

await check('a Norfolk postcode shows its band, rate, surgery and margin', async (page) => {
  const { body } = await api(`/v1/lookup?postcode=NR1%201AA&date=${DATE}`);
  await open(page);
  await searchFor(page, 'NR1 1AA');
  const text = await cardShows(page, body);
  assert(text.includes('Band 1') && text.includes('Y02751'), text);
  assert(/about [\d.]+ (m|miles.*) inside Band 1/.test(text), `no margin in words: ${text}`);
  assert(text.includes('This rate applies from 8 April 2019'), text);
  assert(text.includes(body.resolution.dataset_version), 'no dataset version');
  assert((await page.textContent('footer')).includes('Crown copyright'), 'no attribution');
  if (await page.$('.leaflet-container')) {
    await page.waitForSelector('.leaflet-overlay-pane path:not([d="M0 0"])');
    await page.waitForTimeout(400);
  }
  await page.screenshot({ path: join(artifacts, 'desktop-NR1-1AA.png'), fullPage: true });
});

await check('a rate past what the papers confirm says so next to the rate, above the fold', async (page) => {
  // 1 December 2026 is more than a year after Norfolk's 2019/20 rates paper (8 April 2019).
  const LATER = '2026-12-01';
  const { body } = await api(`/v1/lookup?postcode=NR1%201AA&date=${LATER}`);
  const s = body.resolution.schemes[0];
  assert(s.currency && s.currency.status === 'latest_known' && s.currency.message, JSON.stringify(s.currency));
  await page.goto(`${base}/?date=${LATER}`);
  await page.waitForFunction(() => document.getElementById('dataset-version').textContent !== 'loading');
  await searchFor(page, 'NR1 1AA');
  const note = page.locator('[data-testid=rate-currency]').first();
  await note.waitFor({ state: 'visible' });
  const text = await note.textContent();
  assert(text.toLowerCase().includes(s.currency.message.toLowerCase()), text);
  // Not folded away in "How this was worked out", and on the first screen.
  assert(await page.$eval('[data-testid=rate-currency]', (el) => !el.closest('details')), 'inside the details');
  const rate = await page.locator('[data-testid=rate]').first().boundingBox();
  const box = await note.boundingBox();
  const viewport = page.viewportSize();
  assert(box.y + box.height <= viewport.height, `below the fold: ${JSON.stringify(box)}`);
  assert(box.y > rate.y && box.y - (rate.y + rate.height) < 120, `not next to the rate: ${JSON.stringify({ rate, box })}`);
  // The ended provider lists are stated on the provider card.
  for (const p of s.provider_currency) {
    const cards = await page.$$eval('.providers [data-testid=provider-currency]', (els) => els.map((e) => e.textContent.toLowerCase()));
    assert(cards.some((c) => c.includes(p.message.toLowerCase())), `no provider note "${p.message}": ${cards.join(' | ')}`);
  }
  await page.screenshot({ path: join(artifacts, 'desktop-NR1-1AA-2026.png') });
});

await check('a terminated postcode shows its warning', async (page) => {
  const { body } = await api(`/v1/lookup?postcode=NR1%201AB&date=${DATE}`);
  assert(body.postcode && body.postcode.warning, JSON.stringify(body.postcode));
  await open(page);
  await searchFor(page, 'NR1 1AB');
  const note = page.locator('[data-testid=postcode-warning]');
  await note.waitFor({ state: 'visible' });
  assert((await note.textContent()).toLowerCase().includes(body.postcode.warning.toLowerCase()), await note.textContent());
});

await check('an address line with its postcode is answered from the postcode', async (page) => {
  const { body } = await api(`/v1/lookup?q=${encodeURIComponent('12 Rose Lane, Norwich nr2 1aa')}&date=${DATE}`);
  await open(page);
  await searchFor(page, '12 Rose Lane, Norwich nr2 1aa');
  const text = await cardShows(page, body);
  assert(text.includes('Postcode found in your text: NR2 1AA'), text);
});

await check('a Bristol postcode shows what careband knows of it', async (page) => {
  const { body } = await api(`/v1/lookup?postcode=BS1%205TR&date=${DATE}`);
  await open(page);
  await searchFor(page, 'BS1 5TR');
  await cardShows(page, body);
});

await check('a place outside the Central Belt gets the spot price', async (page) => {
  // King's Lynn is in Norfolk but outside the banded CCG areas.
  const { body } = await api(`/v1/lookup?postcode=PE30%201EX&date=${DATE}`);
  await open(page);
  await searchFor(page, 'PE30 1EX');
  const text = await cardShows(page, body);
  const s = body.resolution.schemes[0];
  if (s && s.banding && !s.banding.in_banded_region) {
    assert(text.includes('Outside the banded area'), text);
  }
});

await check('zones, PCNs and providers are listed in tier order, whatever roles the answer has', async (page) => {
  // Schemes with zones and provider lists may not be loaded in this dataset: take a real
  // answer and give its scheme the areas and providers such a scheme answers with.
  const { body } = await api(`/v1/lookup?postcode=NR1%201AA&date=${DATE}`);
  const s = body.resolution.schemes[0];
  const area = (role, id, name) => ({ role, layer: role + "s", id, name, how: "covered", illustrative: true, method: null });
  s.illustrative = true;
  s.areas = [area('zone', '4', 'Zone 4'), area('night_zone', 'N2', 'Night zone 2'), area('pcn', 'U1', 'Norwich East PCN'), area('locality', 'L', 'Norwich')];
  const tiers = (...t) => t.map(([tier, names]) => ({ tier, providers: names.map((name) => ({ id: name.toLowerCase(), name })) }));
  s.providers = [
    { service: 'day', area_role: 'zone', area_id: '4', valid_from: '2019-04-01', valid_to: null, illustrative: true,
      tiers: tiers(['main', ['HSG', 'Kumari']], ['secondary', ['Homecare4u']], ['framework', ['Mears', 'CareFirst']]) },
    { service: 'night', area_role: 'night_zone', area_id: 'N2', valid_from: '2019-04-01', valid_to: null, illustrative: true,
      tiers: tiers(['main', ['Network Care']]) },
  ];
  await page.route('**/v1/lookup?*', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) }));
  await open(page);
  await searchFor(page, 'NR1 1AA');
  const text = await cardShows(page, body);
  for (const want of ['Zone', 'Night zone', 'Primary Care Network (PCN)', 'Locality', 'Illustrative data']) {
    assert(text.includes(want), `no "${want}": ${text}`);
  }
  const items = await page.$$eval('.providers li', (lis) => lis.map((li) => li.textContent));
  assert(JSON.stringify(items) === JSON.stringify(['Main: HSG, Kumari', 'Secondary: Homecare4u', 'Framework: Mears, CareFirst', 'Main: Network Care']), items.join(' | '));
  const order = ['Day care', 'Night care'].map((w) => text.indexOf(w));
  assert(order[0] >= 0 && order[0] < order[1], 'day before night');
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(artifacts, 'desktop-zones-providers.png'), fullPage: true });
});

await check('place suggestions from a gazetteer, chosen with the keyboard', async (page) => {
  // This careband may have no gazetteer (GET /v1/places is then a 404 and the page does
  // without): answer it here in the gazetteer's shape, with a real resolution.
  const { body } = await api(`/v1/lookup?lat=52.6036&lon=1.1803&date=${DATE}`);
  const label = 'Hethersett (village, South Norfolk)';
  await page.route('**/v1/places?*', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({
    query: 'heth', count: 1, dataset_version: 'test',
    suggestions: [{ label, name: 'Hethersett', kind: 'village', district: 'South Norfolk', lat: 52.6036, lon: 1.1803, match: 'prefix', query: 'Hethersett' }],
  }) }));
  await page.route('**/v1/lookup?q=Hethersett*', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({
    kind: 'places', query: 'Hethersett', clear: true, message: 'Hethersett, a village in South Norfolk', notes: [],
    date: DATE, dataset_version: body.resolution.dataset_version,
    candidates: [{ rank: 1, label, name: 'Hethersett', kind: 'village', resolution: body.resolution,
      precision_note: 'the village centre', extent: { verdict: 'all 300 postcodes of Hethersett are Band 1', spans_more_than_one: false } }],
  }) }));
  await open(page);
  await page.focus('#q');
  await page.keyboard.type('Heth');
  await page.waitForSelector('#suggestions:not([hidden]) li');
  assert(await page.getAttribute('#q', 'aria-expanded') === 'true', 'the combobox is not expanded');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  const text = await cardShows(page, body);
  assert(text.includes(label) && text.includes('all 300 postcodes of Hethersett are Band 1'), text);
});

await check('an unknown postcode says so and offers near misses', async (page) => {
  const { body } = await api('/v1/lookup?postcode=NR1%201XX');
  await open(page);
  await searchFor(page, 'NR1 1XX');
  const text = await resultText(page);
  assert(text.includes("We couldn't find NR1 1XX."), text);
  for (const s of body.error.suggestions) assert(text.includes(s), `no suggestion ${s}: ${text}`);
  // A suggestion is a button that looks it up.
  await page.click(`#result .suggestion-list button >> nth=0`);
  await page.waitForSelector('[data-testid=answer]');
});

await check('garbage input shows a plain-English error', async (page) => {
  await open(page);
  for (const junk of ['NR99 9ZZ', 'qwzx plinth 77!!', '']) {
    await searchFor(page, junk);
    await page.waitForSelector('#result .error');
    const text = await page.textContent('#result .error');
    assert(/We couldn't find|No place or road called|Enter a postcode|not a UK postcode/.test(text), `"${junk}": ${text}`);
    assert(!/undefined|null|\[object/.test(text), `"${junk}": ${text}`);
    await page.evaluate(() => document.getElementById('result').replaceChildren());
  }
});

await check('keyboard only: tab to the box, type, press Enter', async (page) => {
  const { body } = await api(`/v1/lookup?postcode=NR18%200AA&date=${DATE}`);
  await open(page);
  await page.keyboard.press('Tab');
  assert(await page.evaluate(() => document.activeElement.className === 'skip'), 'the skip link is not first');
  await page.keyboard.press('Tab');
  assert(await page.evaluate(() => document.activeElement.id === 'q'), 'the search box is not second');
  await page.keyboard.type('NR18 0AA');
  await page.keyboard.press('Enter');
  await cardShows(page, body);
  await page.keyboard.press('Tab');
  assert(await page.evaluate(() => document.activeElement.id === 'date'), 'the date is not after the search box');
  // A date box has a stop for each of its parts (day, month, year) before the next control.
  for (let i = 0; i < 4 && await page.evaluate(() => document.activeElement.id === 'date'); i++) {
    await page.keyboard.press('Tab');
  }
  assert(await page.evaluate(() => document.activeElement.id === 'search-button'), 'the button is not after the date');
  // The button works from the keyboard too.
  await page.evaluate(() => { document.getElementById('q').value = 'NR1 1AA'; });
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('result').textContent.includes('NR1 1AA'));
});

await check('every control has a label and the result is announced', async (page) => {
  await open(page);
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => !el.labels || el.labels.length === 0).map((el) => el.id || el.name));
  assert(unlabelled.length === 0, 'unlabelled: ' + unlabelled.join(', '));
  assert(await page.getAttribute('#result', 'aria-live') === 'polite', 'no aria-live');
  assert(await page.evaluate(() => document.getElementById('date').value) === DATE, 'the date is not taken from the link');
});

await check('the date defaults to today', async (page) => {
  await page.goto(base + '/');
  const value = await page.inputValue('#date');
  const now = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  assert(value === `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`, value);
});

await check('clicking the map looks that point up', async (page) => {
  await open(page);
  await page.waitForSelector('.leaflet-overlay-pane path:not([d="M0 0"])', { timeout: 20000 });
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.45);
  await page.waitForSelector('[data-testid=answer]');
  const [lat, lon] = (await page.inputValue('#q')).split(',').map((s) => s.trim());
  const { body } = await api(`/v1/lookup?lat=${lat}&lon=${lon}&date=${DATE}`);
  await cardShows(page, body);
  await page.waitForSelector('.leaflet-marker-pane path:not([d="M0 0"]), .leaflet-overlay-pane path:not([d="M0 0"])');
});

await check('a click on a surgery marker answers the point clicked, not the marker', async (page) => {
  await open(page);
  await searchFor(page, 'NR1 1AA');
  await page.waitForSelector('[data-testid=answer]');
  // The searched point (red) is drawn last, just before the map fits the answer.
  const searched = page.locator('.leaflet-overlay-pane path[fill="#d4351c"]');
  await searched.waitFor({ timeout: 20000 });
  await page.waitForTimeout(300);
  // The answer's nearest surgery: a yellow circle of radius 7 px. Click it 3 px off its
  // centre, on the side away from the searched point, so only the surgery is under it.
  const surgery = page.locator('.leaflet-overlay-pane path[fill="#ffdd00"]').first();
  const s = await surgery.boundingBox();
  const r = await searched.boundingBox();
  const [sx, sy, rx, ry] = [s.x + s.width / 2, s.y + s.height / 2, r.x + r.width / 2, r.y + r.height / 2];
  const len = Math.hypot(sx - rx, sy - ry) || 1;
  await page.mouse.click(sx + (3 * (sx - rx)) / len, sy + (3 * (sy - ry)) / len);
  await page.waitForFunction(() => document.getElementById('q').value.includes(','));
  await page.waitForSelector('[data-testid=answer]');
  const [lat, lon] = (await page.inputValue('#q')).split(',').map(Number);
  const first = (await api(`/v1/lookup?postcode=NR1%201AA&date=${DATE}`)).body;
  const centre = first.resolution.schemes.map((x) => x.banding && x.banding.nearest_centre).find((c) => c);
  // A click that snaps answers a marker's own point; 3 px here is tens of metres.
  for (const [name, p] of [['the surgery', centre], ['the searched point', first.resolution.point]]) {
    const far = Math.abs(p.lat - lat) > 1e-4 || Math.abs(p.lon - lon) > 1e-4;
    assert(far, `the click answered ${lat}, ${lon}: ${name}'s own point (${p.lat}, ${p.lon}); it snapped to the marker`);
  }
  await cardShows(page, (await api(`/v1/lookup?lat=${lat}&lon=${lon}&date=${DATE}`)).body);
});

await check('without the map library the page says so and still answers', async (page) => {
  await page.route('**/static/vendor/leaflet.js', (route) => route.abort());
  const { body } = await api(`/v1/lookup?postcode=NR1%201AA&date=${DATE}`);
  await open(page);
  await page.waitForSelector('#map-status:not([hidden])');
  assert((await page.textContent('#map-status')).includes('map is not available'), 'no map notice');
  await searchFor(page, 'NR1 1AA');
  await cardShows(page, body);
});

await check('link parameters for the background map are shown as text, never as markup', async (page) => {
  // Tile images are not fetched: the check is about what the page shows.
  await page.route('https://tile.example/**', (route) => route.abort());
  const attribution = '<a id="spoof" href="https://evil.example/login">Log in to your council account</a>';
  await open(page, `&tiles=${encodeURIComponent('https://tile.example/{z}/{x}/{y}.png')}&tiles_attribution=${encodeURIComponent(attribution)}`);
  await page.waitForSelector('.leaflet-control-attribution', { timeout: 20000 });
  await page.waitForFunction(() => document.querySelector('.leaflet-control-attribution').textContent.includes('Log in'));
  assert(await page.locator('#spoof').count() === 0, 'the attribution became a link');
  const credit = await page.textContent('.leaflet-control-attribution');
  assert(credit.includes(attribution), `the attribution is not shown as its text: ${credit}`);
  assert(await page.locator('.leaflet-tile-pane img').count() > 0, 'the https tile template was not used');
});

await check('a tile URL that is not an https template gives no background map', async (page) => {
  await open(page, `&tiles=${encodeURIComponent('javascript:alert(1)//{z}/{x}/{y}')}`);
  await page.waitForSelector('.leaflet-overlay-pane path:not([d="M0 0"])', { timeout: 20000 });
  assert(await page.locator('.leaflet-tile-pane img').count() === 0, 'a tile layer was added');
});

await check('a 360 px phone shows the whole card without sideways scrolling', async (page) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const { body } = await api(`/v1/lookup?postcode=NR1%201AA&date=${DATE}`);
  await open(page);
  await searchFor(page, 'NR1 1AA');
  await cardShows(page, body);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(width <= 360, `the page is ${width} px wide`);
  if (await page.$('.leaflet-container')) await page.waitForTimeout(400);
  await page.screenshot({ path: join(artifacts, 'phone-360-NR1-1AA.png'), fullPage: true });
});

await check('embed mode drops the page header', async (page) => {
  await open(page, '&embed=1&q=NR1%201AA');
  await page.waitForSelector('[data-testid=answer]');
  assert(!(await page.isVisible('header.chrome')), 'the header shows in embed mode');
  assert(await page.isVisible('footer .attribution'), 'the attribution must stay');
  await page.screenshot({ path: join(artifacts, 'embed-NR1-1AA.png') });
});

await check('a village whose postcodes span two bands has no single headline band', async (page) => {
  const { body } = await api(`/v1/lookup?q=Edgefield&date=${DATE}`);
  assert(body.kind === 'places' && body.stands_out && !body.clear, JSON.stringify(body).slice(0, 300));
  const bands = body.candidates[0].extent.alternatives.find((a) => a.part === 'band').values;
  assert(bands.length === 2, bands.join(', '));
  await open(page);
  await searchFor(page, 'Edgefield');
  await page.waitForSelector('[data-testid=band-choice]');
  const shown = (await page.textContent('[data-testid=band-choice]')).trim();
  assert(shown === `${bands.join(' or ')}: give the postcode`, shown);
  assert(!(await page.$('[data-testid=band]')), 'a single headline band is still shown');
  assert(!(await page.$('[data-testid=rate]')), 'a single headline rate is still shown');
  await page.screenshot({ path: join(artifacts, 'edgefield-two-bands.png'), fullPage: true });
});

await check('a road the gazetteer cannot find says so and answers the town as a town', async (page) => {
  const { body } = await api(`/v1/lookup?q=${encodeURIComponent('Gloucester Road, Bristol')}&date=${DATE}`);
  assert(!body.clear && body.not_found.length === 1, JSON.stringify(body).slice(0, 300));
  await open(page);
  await searchFor(page, 'Gloucester Road, Bristol');
  await page.waitForSelector('[data-testid=not-found]');
  const note = await page.textContent('[data-testid=not-found]');
  assert(note.includes('No road called Gloucester Road was found'), note);
  const zone = await page.textContent('[data-testid=area-choice]');
  assert(zone.includes(' or ') && zone.includes('give the postcode'), zone);
});

await check('upload a file, download the answers', async (page) => {
  await open(page);
  const csv = 'id,postcode\n1,NR1 1AA\n2,nonsense\n3,NR2 1AA\n';
  await page.setInputFiles('#batch-file', { name: 'packages.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.fill('#batch-date', DATE);
  await page.click('#batch-button');
  await page.waitForSelector('[data-testid=download]');
  const text = await page.textContent('#batch-result');
  // The counts are the API's own, asked for the same file with summary=true.
  const counted = await fetch(`${base}/v1/batch?date=${DATE}&summary=true`, {
    method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: csv,
  }).then((r) => r.json());
  assert(counted.message === '3 rows: 2 answered, 0 outside coverage, 0 not found, 1 bad input', counted.message);
  assert(text.includes(`Done: ${counted.message} for `), text);
  assert(!text.includes('rows answered'), text);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download]')]);
  assert(download.suggestedFilename() === `packages-bands-${DATE}.csv`, download.suggestedFilename());
  const path = join(artifacts, 'download.csv');
  await download.saveAs(path);
  const out = (await import('node:fs')).readFileSync(path, 'utf8').replace(/^\uFEFF/, '').split('\r\n').filter(Boolean);
  assert(out.length === 4, `${out.length} lines`);
  assert(out[1].startsWith('1,NR1 1AA,answered') && out[2].startsWith('2,nonsense,bad_input'), out.join('\n'));
  // An upload that is not CSV gets the server's reason.
  await page.setInputFiles('#batch-file', { name: 'notes.csv', mimeType: 'text/csv', buffer: Buffer.from('name,town\nx,y\n') });
  await page.click('#batch-button');
  await page.waitForSelector('#batch-result .error');
  assert((await page.textContent('#batch-result')).includes('No lookup column'), await page.textContent('#batch-result'));
});

await check('upload a workbook, download a workbook', async (page) => {
  await open(page);
  // A real .xlsx file, made by the API from three CSV rows under a title row (the title is
  // dropped; the rows keep their postcode column, so the page's upload answers them again).
  const xlsxType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  const book = Buffer.from(await fetch(`${base}/v1/batch?date=${DATE}&format=xlsx`, {
    method: 'POST', headers: { 'Content-Type': 'text/csv' }, body: 'Referrals\nid,postcode\n1,NR1 1AA\n2,nonsense\n3,NR2 1AA\n',
  }).then((r) => r.arrayBuffer()));
  assert(book.subarray(0, 2).toString() === 'PK', 'the API sent a workbook');
  await page.setInputFiles('#batch-file', { name: 'referrals.xlsx', mimeType: xlsxType, buffer: book });
  await page.fill('#batch-date', DATE);
  await page.click('#batch-button');
  await page.waitForSelector('[data-testid=download]');
  const text = await page.textContent('#batch-result');
  assert(text.includes('Done: 3 rows: 2 answered, 0 outside coverage, 0 not found, 1 bad input for '), text);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download]')]);
  assert(download.suggestedFilename() === `referrals-bands-${DATE}.xlsx`, download.suggestedFilename());
  const path = join(artifacts, 'download.xlsx');
  await download.saveAs(path);
  assert((await import('node:fs')).readFileSync(path).subarray(0, 2).toString() === 'PK', 'a workbook came back');
});

await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
