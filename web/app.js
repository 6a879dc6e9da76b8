// careband price band identification tool: search, result card, map, file upload.
// Plain browser JavaScript, no build step. Every answer comes from careband's own API; the
// map library (Leaflet) is optional and the page works without it.
'use strict';

(function () {
  const params = new URLSearchParams(location.search);
  const $ = (id) => document.getElementById(id);
  const state = { schemes: [], placesAvailable: true, layerCache: new Map(), map: null, marks: null, busy: 0 };

  // ---- small helpers ---------------------------------------------------------------------

  // Creates an element with attributes and children (strings become text, never HTML).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  // ---- link parameters: plain values, never markup ------------------------------------------
  // page-params:begin
  // The background map a link asks for with ?tiles=: an https:// URL template with {z}, {x}
  // and {y} (and optionally {s} and {r}), at most 500 characters, without quotes, spaces,
  // angle brackets or backslashes. Anything else gives no background map (null).
  function tileTemplate(raw) {
    if (typeof raw !== 'string' || raw.length > 500) return null;
    if (/[\s"'<>\\`]/.test(raw)) return null;
    for (const p of ['{z}', '{x}', '{y}']) if (!raw.includes(p)) return null;
    const placeholders = raw.match(/\{[^}]*\}/g) || [];
    if (placeholders.some((p) => !['{s}', '{z}', '{x}', '{y}', '{r}'].includes(p))) return null;
    let url;
    try { url = new URL(raw.replace(/\{[sxyzr]\}/g, '0')); } catch (_) { return null; }
    if (url.protocol !== 'https:' || !url.hostname || url.username || url.password) return null;
    return raw;
  }

  // The tile server's credit from ?tiles_attribution=, as text: at most 200 characters, with
  // every character HTML gives a meaning to written as an entity, since Leaflet inserts
  // attributions as HTML.
  function attributionText(raw) {
    if (typeof raw !== 'string') return '';
    const entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
    return raw.slice(0, 200).replace(/[&<>"']/g, (c) => entities[c]);
  }
  // page-params:end

  function today() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  const money = (v, cur) => (cur === 'GBP' || !cur ? '£' : cur + ' ') + Number(v).toFixed(2);

  function longDate(iso) {
    const [y, m, d] = iso.split('-').map(Number);
    const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
      'September', 'October', 'November', 'December'];
    return `${d} ${months[m - 1]} ${y}`;
  }

  // A distance in plain words: "about 400 m", "about 2.6 miles (4.1 km)".
  function distanceWords(m) {
    if (m < 100) return `about ${Math.max(10, Math.round(m / 10) * 10)} m`;
    if (m < 1000) return `about ${Math.round(m / 50) * 50} m`;
    return `about ${(m / 1609.344).toFixed(1)} miles (${(m / 1000).toFixed(1)} km)`;
  }

  const miles = (mi) => `${Number(mi).toFixed(2)} miles`;

  // A message as a sentence: capitalised (but "careband" keeps its small c), with a full stop.
  const sentence = (m) => (m.startsWith('careband') ? m : m.replace(/^./, (c) => c.toUpperCase())) + '.';

  const ROLE_NAMES = {
    zone: 'Zone', night_zone: 'Night zone', pcn: 'Primary Care Network (PCN)', locality: 'Locality',
  };
  const roleName = (r) => ROLE_NAMES[r] || r.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  const TIER_NAMES = { main: 'Main', secondary: 'Secondary', framework: 'Framework' };
  const tierName = (t) => TIER_NAMES[t] || t.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

  async function getJSON(url) {
    const res = await fetch(url, { headers: { Accept: 'application/json' } });
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    return { status: res.status, ok: res.ok, body };
  }

  // ---- result card -----------------------------------------------------------------------

  const result = $('result');

  function show(...nodes) {
    result.replaceChildren(...nodes);
  }

  function showBusy(text) {
    show(h('p', { class: 'placeholder' }, text));
  }

  function showError(message, suggestions, hint) {
    const box = h('div', { class: 'error', role: 'alert' }, h('p', {}, h('strong', {}, message)));
    if (suggestions && suggestions.length) {
      box.append(h('p', {}, 'Did you mean:'),
        h('ul', { class: 'suggestion-list' }, suggestions.map((s) =>
          h('li', {}, h('button', { type: 'button', onclick: () => { $('q').value = s; search(s); } }, s)))));
    }
    if (hint) box.append(h('p', {}, hint));
    show(box);
  }

  function fact(dt, ...dd) {
    return [h('dt', {}, dt), h('dd', {}, ...dd)];
  }

  function renderScheme(s, res) {
    const b = s.banding;
    const r = s.rate;
    const out = h('section', { class: 'scheme', 'aria-label': s.name });
    out.append(h('h3', {}, s.name));
    if (s.illustrative) {
      out.append(h('div', { class: 'note flag' }, h('p', {}, h('strong', {}, 'Illustrative data. '),
        'Parts of this answer (such as zone boundaries or provider lists) are examples standing in for data the council has not published. Do not use them to arrange care.')));
    }
    const headline = h('div', { class: 'headline' });
    if (b && b.in_banded_region && b.band) headline.append(h('span', { class: 'band', 'data-testid': 'band' }, b.band.name));
    else if (r) headline.append(h('span', { class: 'band', 'data-testid': 'band' }, r.name.replace(/^./, (c) => c.toUpperCase())));
    if (r) {
      headline.append(h('span', { class: 'rate', 'data-testid': 'rate' }, money(r.hourly, r.currency), h('small', {}, ' an hour')));
    }
    out.append(headline);
    if (r) {
      out.append(h('p', { 'data-testid': 'applies-from' },
        `This rate applies from ${longDate(r.effective_from)}` + (r.effective_to ? ` to ${longDate(r.effective_to)}.` : '.')));
    } else {
      out.append(h('div', { class: 'note warn' }, h('p', {}, `No rate is in force on ${longDate(res.date)} for this scheme.`)));
    }
    // Next to the rate, never folded away: the date is past what careband's papers confirm.
    if (r && s.currency && s.currency.status !== 'in_force' && s.currency.message) {
      out.append(h('div', { class: 'note warn', 'data-testid': 'rate-currency' }, h('p', {},
        h('strong', {}, 'This may not be the rate today. '), sentence(s.currency.message))));
    }
    if (b && !b.in_banded_region) {
      out.append(h('div', { class: 'note', 'data-testid': 'outside-banded' }, h('p', {},
        h('strong', {}, 'Outside the banded area. '),
        `Bands apply only in ${b.region_name}. Here the ${r ? r.name : 'standard rate'} applies.`)));
    }
    const dl = h('dl', { class: 'facts' });
    if (b && b.nearest_centre) {
      const c = b.nearest_centre;
      dl.append(...fact('Nearest surgery', `${c.name} (${c.code}), ${c.postcode}`));
      if (b.distance_m !== null && b.distance_m !== undefined) {
        dl.append(...fact('Distance', `${miles(b.distance_miles)} (${Math.round(b.distance_m)} m) in a straight line`));
      }
    }
    if (b && b.in_banded_region && b.band && b.margin) {
      const m = b.margin;
      dl.append(...fact('Band edge', h('span', { 'data-testid': 'margin' },
        `${distanceWords(m.margin_m)} inside ${b.band.name}; ${m.other_band} starts ${m.threshold_miles} miles from the surgery.`)));
    }
    const seen = new Set();
    for (const a of s.areas || []) {
      const key = a.role + '/' + (a.matched || a).id;
      if (seen.has(key)) continue;
      seen.add(key);
      dl.append(...fact(roleName(a.role), (a.matched || a).name, a.illustrative ? ' (illustrative)' : ''));
    }
    out.append(dl);
    if (b && b.near_threshold) {
      out.append(h('div', { class: 'note warn', 'data-testid': 'near-edge' }, h('p', {},
        h('strong', {}, 'Close to a band edge. '),
        `This point is within ${Math.round(b.near_threshold_m)} m of the edge between bands. A postcode is placed at its centre, so homes in it may fall either side: check the exact address with the council.`)));
    }
    const providerNotes = s.provider_currency || [];
    if ((s.providers && s.providers.length) || providerNotes.length) {
      const box = h('div', { class: 'providers' }, h('h4', {}, 'Providers to approach, in order'));
      for (const p of providerNotes) {
        box.append(h('div', { class: 'note warn', 'data-testid': 'provider-currency' }, h('p', {},
          h('strong', {}, p.status === 'ended' ? 'List ended. ' : 'Latest known list. '),
          sentence(p.message))));
      }
      for (const list of s.providers) {
        const service = list.service === 'night' ? 'Night care' : list.service === 'day' ? 'Day care' : list.service;
        const ol = h('ol', {});
        for (const t of list.tiers) {
          ol.append(h('li', {}, h('span', { class: 'tier' }, tierName(t.tier) + ': '),
            t.providers.map((p) => p.name).join(', ') || 'none listed'));
        }
        box.append(h('p', {}, h('strong', {}, service), ` (${roleName(list.area_role)} ${list.area_id})`,
          list.illustrative ? ' - illustrative' : ''), ol);
      }
      out.append(box);
    }
    const layerNotes = (s.layer_dates || []).filter((l) => l.message);
    if (layerNotes.length) {
      out.append(h('div', { class: 'note', 'data-testid': 'layer-dates' }, h('p', {}, h('strong', {}, 'Areas on this date. ')),
        h('ul', {}, layerNotes.map((l) => h('li', {}, sentence(l.message))))));
    }
    const how = h('details', {}, h('summary', {}, 'How this was worked out'));
    const ul = h('ul', {});
    if (r) ul.append(h('li', {}, r.reason), h('li', {}, 'Source: ' + r.source));
    if (b) ul.append(h('li', {}, 'Centres: ' + b.centre_rule), h('li', {}, 'Distance: ' + b.distance_method));
    for (const n of s.notes || []) ul.append(h('li', {}, n));
    for (const w of s.warnings || []) ul.append(h('li', {}, 'Warning: ' + w));
    how.append(ul);
    out.append(how, h('p', { class: 'meta' }, `Scheme ${s.scheme} version ${s.scheme_version}.`));
    return out;
  }

  function renderPoint(a, label) {
    const res = a.resolution;
    const title = label || a.query;
    const box = h('div', { class: 'answer', 'data-testid': 'answer' });
    box.append(h('h3', {}, title));
    const sub = [];
    if (a.text_match && q.value.trim().length > a.text_match.text.length) sub.push(`Postcode found in your text: ${a.text_match.postcode}.`);
    if (label && a.query !== label) sub.push(a.query);
    if (a.postcode && a.postcode.terminated) sub.push('This postcode is no longer in use; its last known position was used.');
    sub.push(`Answer for ${longDate(res.date)}.`);
    box.append(h('p', { class: 'query' }, sub.join(' ')));
    if (a.postcode && a.postcode.warning) {
      box.append(h('div', { class: 'note warn', 'data-testid': 'postcode-warning' }, h('p', {},
        h('strong', {}, 'Postcode no longer in use. '), sentence(a.postcode.warning))));
    }
    if (!res.covered) {
      box.append(h('div', { class: 'note warn', 'data-testid': 'not-covered' }, h('p', {},
        h('strong', {}, 'No band here. '), res.outside_reason || 'This place is outside every area this tool covers.')));
    }
    for (const s of res.schemes) box.append(renderScheme(s, res));
    box.append(h('p', { class: 'meta' }, `Dataset version ${res.dataset_version}.`));
    show(box);
    state.lastAnswer = a;
    drawAnswer(a);
  }

  function renderArea(a) {
    const box = h('div', { class: 'answer', 'data-testid': 'answer' },
      h('h3', {}, `${a.query} (${a.level})`),
      h('p', { 'data-testid': 'verdict' }, a.verdict.replace(/^./, (c) => c.toUpperCase()) + '.'),
      h('p', {}, 'A partial postcode covers many homes. Enter the full postcode for one address.'));
    for (const s of a.schemes) {
      const ul = h('ul', {});
      for (const [k, v] of Object.entries(s.outcomes)) ul.append(h('li', {}, `${k}: ${v} postcodes`));
      box.append(h('p', {}, h('strong', {}, s.scheme)), ul);
    }
    box.append(h('p', { class: 'meta' }, `Dataset version ${a.dataset_version}.`));
    show(box);
  }

  // One candidate of a free-text answer (`kind: places`) shown as a point answer, with what
  // its extent spans.
  function renderCandidate(c, answer) {
    renderPoint({ kind: 'point', query: c.label, resolution: c.resolution }, c.label);
    const card = result.querySelector('.answer');
    const notes = [];
    if (c.precision_note) notes.push(h('p', {}, c.precision_note));
    if (c.extent && c.extent.verdict) notes.push(h('p', { 'data-testid': 'extent' }, c.extent.verdict));
    if (notes.length) {
      card.insertBefore(h('div', { class: c.extent && c.extent.spans_more_than_one ? 'note warn' : 'note' }, ...notes),
        card.querySelector('.scheme') || null);
    }
    if (answer && answer.not_found && answer.not_found.length) {
      card.insertBefore(h('div', { class: 'note warn', 'data-testid': 'not-found' },
        ...(answer.notes || []).map((n) => h('p', {}, n.replace(/^./, (x) => x.toUpperCase()) + '.'))),
        card.querySelector(':scope > .note, :scope > .scheme'));
    }
    showAlternatives(card, c.extent);
    if (answer && answer.candidates.length > 1) {
      card.append(h('p', {}, h('button', { type: 'button', class: 'link', onclick: () => renderPlaces(answer, true) },
        `Not this one? See all ${answer.candidates.length} matches`)));
    }
  }

  // Where the candidate's postcodes differ, no single band, rate or area is shown as the
  // answer: the headline and the facts say which values occur, and ask for the postcode.
  function showAlternatives(card, extent) {
    const alts = (extent && extent.alternatives) || [];
    if (!alts.length) return;
    const values = (part) => (alts.find((a) => a.part === part) || {}).values;
    const choice = (vals) => `${vals.join(' or ')}: give the postcode`;
    const headlineValues = values('band') || values('rate') || values('coverage');
    for (const hl of card.querySelectorAll('.headline')) {
      if (!headlineValues) continue;
      hl.replaceChildren(h('span', { class: 'band', 'data-testid': 'band-choice' }, choice(headlineValues)));
    }
    const roles = { zone: 'zone', night_zone: 'night_zone', pcn: 'pcn', locality: 'locality', county: 'county' };
    for (const dt of card.querySelectorAll('dl.facts dt')) {
      for (const [part, role] of Object.entries(roles)) {
        const vals = values(part);
        if (vals && dt.textContent === roleName(role) && dt.nextElementSibling) {
          dt.nextElementSibling.replaceChildren(h('span', { 'data-testid': 'area-choice' }, choice(vals)));
        }
      }
    }
    const providers = alts.filter((a) => a.part.startsWith('providers.'));
    if (providers.length) {
      for (const box of card.querySelectorAll('.providers')) {
        box.prepend(h('div', { class: 'note warn', 'data-testid': 'providers-differ' }, h('p', {},
          'The providers differ across this place; the lists below are for its centre point only: give the postcode.')));
      }
    }
  }

  function renderPlaces(answer, choose) {
    const cands = answer.candidates || [];
    if (!cands.length) {
      showError(answer.message || `We couldn't find "${answer.query}".`, null,
        'Try a full postcode such as NR1 1AA, or an address that ends with its postcode.');
      return;
    }
    if ((answer.clear || answer.stands_out) && !choose) { renderCandidate(cands[0], answer); return; }
    const box = h('div', { class: 'answer', 'data-testid': 'choices' },
      h('h3', {}, `Which "${answer.query}"?`), h('p', {}, answer.message));
    box.append(h('ul', { class: 'suggestion-list' }, cands.slice(0, 12).map((c) =>
      h('li', {}, h('button', { type: 'button', onclick: () => renderCandidate(c, answer) }, c.label)))));
    for (const n of answer.notes || []) box.append(h('p', { class: 'meta' }, n));
    show(box);
  }

  function render(answer, label) {
    if (answer.kind === 'area') renderArea(answer);
    else if (answer.kind === 'places') renderPlaces(answer, false);
    else renderPoint(answer, label);
  }

  // ---- searching -------------------------------------------------------------------------

  const dateInput = $('date');

  async function lookup(query, label) {
    const q = new URLSearchParams(query);
    q.set('date', dateInput.value || today());
    const r = await getJSON('v1/lookup?' + q);
    if (r.ok) { render(r.body, label); return true; }
    const e = (r.body && r.body.error) || {};
    if (e.code === 'postcode_not_found') {
      const pc = (e.message.match(/postcode (.+?) was not found/) || [])[1] || query.postcode || query.q;
      showError(`We couldn't find ${pc}.`, e.suggestions, 'Check the postcode on a letter or at royalmail.com.');
    } else if (e.code === 'no_postcode_in_text') {
      return false;
    } else if (e.code === 'bad_postcode' && e.suggestions && e.suggestions.length) {
      // A postcode that must be corrected first (NR11 AA, NR18-0UR, PE3O 1EX), or two
      // postcodes in one text: the API says why and offers the corrected form.
      showError(e.message.replace(/: did you mean .*\?$/, '.').replace(/^./, (c) => c.toUpperCase()), e.suggestions, 'Choose the postcode you meant.');
    } else if (e.code === 'bad_postcode') {
      showError(`"${query.q || query.postcode}" is not a UK postcode we can read.`, null, 'A full postcode looks like NR1 1AA: letters and a number, a space, then a number and two letters.');
    } else if (e.code === 'bad_date') {
      showError('The date is not a real date. Pick one with the date box.');
    } else {
      showError(e.message ? e.message.replace(/^./, (c) => c.toUpperCase()) : `Something went wrong (error ${r.status}). Try again.`);
    }
    return true;
  }

  // Place names from the gazetteer, when this careband has one (else the route is a 404 and
  // the page stops asking).
  async function places(text) {
    if (!state.placesAvailable) return [];
    let r;
    try { r = await getJSON('v1/places?q=' + encodeURIComponent(text)); } catch (e) { return []; }
    if (r.status === 404 && r.body && r.body.error && r.body.error.code === 'no_route') {
      state.placesAvailable = false;
      return [];
    }
    if (!r.ok || !r.body) return [];
    const items = Array.isArray(r.body) ? r.body : (r.body.suggestions || r.body.places || r.body.results || []);
    return items.map((p) => ({
      name: p.label || p.name, lat: p.lat, lon: p.lon, query: p.query,
    })).filter((p) => p.name && (p.query || (typeof p.lat === 'number' && typeof p.lon === 'number')));
  }

  // A chosen suggestion: by its lookup text (which answers with the extent too), else its point.
  function lookupPlace(p) {
    if (p.query) return lookup({ q: p.query }, p.name);
    return lookup({ lat: p.lat, lon: p.lon }, p.name);
  }

  async function search(text) {
    text = (text || '').trim();
    closeSuggestions();
    if (!text) {
      showError('Enter a postcode, an address with its postcode, or a place name.');
      $('q').focus();
      return;
    }
    state.busy++;
    showBusy('Looking up ' + text + '...');
    try {
      // The API reads the text (a postcode, a point, an address or a place): the page does not
      // decide what it means.
      if (await lookup({ q: text }, null)) return;
      const found = await places(text);
      if (found.length) { await lookupPlace(found[0]); return; }
      showError(`We couldn't find "${text}".`, null,
        'Try a full postcode such as NR1 1AA, or an address that ends with its postcode' +
        (state.placesAvailable ? ', or a town or village name.' : '.'));
    } catch (e) {
      showError('careband could not be reached. Check your connection and try again.');
    } finally {
      state.busy--;
    }
  }

  // ---- suggestions (combobox) ------------------------------------------------------------

  const q = $('q');
  const list = $('suggestions');
  let suggestTimer = 0;
  let suggestions = [];
  let active = -1;

  function closeSuggestions() {
    list.hidden = true;
    list.replaceChildren();
    q.setAttribute('aria-expanded', 'false');
    q.removeAttribute('aria-activedescendant');
    suggestions = [];
    active = -1;
  }

  function choose(i) {
    const p = suggestions[i];
    if (!p) return;
    q.value = p.name;
    closeSuggestions();
    showBusy('Looking up ' + p.name + '...');
    lookupPlace(p).catch(() => showError('careband could not be reached. Check your connection and try again.'));
  }

  function setActive(i) {
    active = i;
    [...list.children].forEach((li, k) => li.setAttribute('aria-selected', String(k === i)));
    if (i >= 0) q.setAttribute('aria-activedescendant', 'suggestion-' + i);
  }

  q.addEventListener('input', () => {
    clearTimeout(suggestTimer);
    const text = q.value.trim();
    // Postcodes and addresses (anything with a digit) are looked up directly, not suggested.
    if (text.length < 3 || /\d/.test(text) || !state.placesAvailable) { closeSuggestions(); return; }
    suggestTimer = setTimeout(async () => {
      const found = (await places(text)).slice(0, 8);
      if (q.value.trim() !== text) return;
      if (!found.length) { closeSuggestions(); return; }
      suggestions = found;
      list.replaceChildren(...found.map((p, i) => h('li', {
        id: 'suggestion-' + i, role: 'option', 'aria-selected': 'false',
        onmousedown: (ev) => { ev.preventDefault(); choose(i); },
      }, p.name)));
      list.hidden = false;
      q.setAttribute('aria-expanded', 'true');
    }, 250);
  });

  q.addEventListener('keydown', (ev) => {
    if (list.hidden) return;
    if (ev.key === 'ArrowDown') { ev.preventDefault(); setActive(Math.min(active + 1, suggestions.length - 1)); }
    else if (ev.key === 'ArrowUp') { ev.preventDefault(); setActive(Math.max(active - 1, 0)); }
    else if (ev.key === 'Escape') { closeSuggestions(); }
    else if (ev.key === 'Enter' && active >= 0) { ev.preventDefault(); choose(active); }
  });
  q.addEventListener('blur', () => setTimeout(closeSuggestions, 150));

  $('search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    search(q.value);
  });

  // ---- map ------------------------------------------------------------------------------

  const BAND_COLOURS = ['#1d70b8', '#f47738', '#912b88', '#00703c', '#d4351c'];

  function mapStatus(text) {
    const el = $('map-status');
    el.textContent = text;
    el.hidden = !text;
  }

  async function layerGeoJSON(url) {
    if (!state.layerCache.has(url)) {
      state.layerCache.set(url, getJSON(url).then((r) => (r.ok ? r.body : null)));
    }
    return state.layerCache.get(url);
  }

  function legend(items) {
    $('legend').replaceChildren(...items.map(([colour, text, outline]) =>
      h('span', {}, h('i', { style: null, 'data-colour': colour, 'data-outline': outline ? '1' : null }), text)));
    // Colours are set through the CSSOM (the page allows no inline style attributes).
    for (const i of $('legend').querySelectorAll('i')) {
      if (i.dataset.outline) { i.style.background = 'transparent'; i.style.borderColor = i.dataset.colour; i.style.borderWidth = '2px'; }
      else i.style.background = i.dataset.colour;
    }
  }

  async function initMap() {
    if (!window.L) {
      document.body.classList.add('no-map');
      mapStatus('The map is not available in this installation. Search by postcode, address or place above: the answers are the same.');
      return;
    }
    const L = window.L;
    const still = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    const map = L.map('map', {
      keyboard: true, zoomSnap: 0.5, attributionControl: true,
      zoomAnimation: !still, fadeAnimation: !still, markerZoomAnimation: !still,
    });
    state.map = map;
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution('Boundaries and surgeries: ONS, OS, NHS England (OGL v3.0)');
    const tiles = tileTemplate(params.get('tiles'));
    if (tiles) {
      // Leaflet shows an attribution as HTML: the link's text is escaped so that it shows as
      // text, never as markup (a crafted link must not put a "log in" link on the page).
      L.tileLayer(tiles, { maxZoom: 18, attribution: attributionText(params.get('tiles_attribution')) }).addTo(map);
    }
    map.setView([52.65, 1.1], 8);
    state.marks = L.layerGroup().addTo(map);
    map.on('click', async (ev) => {
      // The point under the pointer: for a click on a small circle (a surgery, the searched
      // point) Leaflet gives the circle's own centre as the event's latlng.
      const { lat, lng } = ev.originalEvent ? map.mouseEventToLatLng(ev.originalEvent) : ev.latlng;
      q.value = `${lat.toFixed(5)}, ${lng.toFixed(5)}`;
      const asked = q.value;
      await search(asked);
      // Name the point by its nearest postcode, unless another search has begun since.
      if (q.value === asked) await nameThePoint(lat.toFixed(5), lng.toFixed(5));
    });
    await drawSchemes();
    // An answer that arrived while the map was loading.
    if (state.lastAnswer) drawAnswer(state.lastAnswer);
  }

  // "Near NR1 1AA (about 40 m away)" under the answer's title, from the nearest live postcode
  // within 2 km; nothing when there is none.
  async function nameThePoint(lat, lon) {
    let r;
    try { r = await getJSON(`v1/postcodes?lat=${lat}&lon=${lon}&limit=1&radius=2000`); } catch (e) { return; }
    const near = r.ok && r.body && r.body.postcodes && r.body.postcodes[0];
    const title = document.querySelector('[data-testid=answer] h3');
    if (!near || !title) return;
    title.after(h('p', { class: 'query', 'data-testid': 'near' }, `Near ${near.postcode} (${distanceWords(near.distance_m)} away).`));
  }

  async function drawSchemes() {
    const L = window.L;
    const map = state.map;
    if (!map) return;
    if (state.base) state.base.remove();
    state.base = L.layerGroup().addTo(map);
    const bounds = L.latLngBounds([]);
    const legendItems = [];
    const date = dateInput.value || today();
    for (const s of state.schemes) {
      if (s.banded) {
        const gj = await layerGeoJSON(`v1/schemes/${encodeURIComponent(s.id)}/bands.geojson?date=${date}`);
        if (!gj) continue;
        const bands = gj.features.filter((f) => f.properties.kind === 'band');
        const centres = gj.features.filter((f) => f.properties.kind === 'centre');
        const layer = L.geoJSON({ type: 'FeatureCollection', features: bands }, {
          style: (f) => ({ color: BAND_COLOURS[(f.properties.band - 1) % 5], weight: 1, fillOpacity: 0.25 }),
          onEachFeature: (f, l) => l.bindTooltip(`${f.properties.name}: ${money(f.properties.hourly, f.properties.currency)} an hour`, { sticky: true }),
        }).addTo(state.base);
        bounds.extend(layer.getBounds());
        for (const f of bands) legendItems.push([BAND_COLOURS[(f.properties.band - 1) % 5], `${f.properties.name} (${money(f.properties.hourly, f.properties.currency)}/h)`]);
        L.geoJSON({ type: 'FeatureCollection', features: centres }, {
          pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 3, color: '#1b1b1b', weight: 1, fillColor: '#fff', fillOpacity: 1 }),
          onEachFeature: (f, l) => l.bindTooltip(`${f.properties.name} (${f.properties.code})`),
        }).addTo(state.base);
      } else {
        for (const layerInfo of s.layers || []) {
          const gj = await layerGeoJSON(layerInfo.geojson);
          if (!gj) continue;
          const layer = L.geoJSON(gj, {
            style: () => ({ color: '#0b4f8a', weight: 1.5, fillOpacity: 0.05 }),
            onEachFeature: (f, l) => l.bindTooltip(`${layerInfo.id}: ${f.properties.name || f.id || ''}`, { sticky: true }),
          }).addTo(state.base);
          if (layer.getBounds().isValid()) bounds.extend(layer.getBounds());
        }
      }
    }
    legendItems.push(['#1b1b1b', 'GP surgery (band centre)'], ['#d4351c', 'Searched point'], ['#6f2c91', 'Zone / PCN / locality', true]);
    legend(legendItems);
    if (bounds.isValid() && !state.answered) map.fitBounds(bounds, { padding: [10, 10] });
  }

  async function drawAnswer(a) {
    const L = window.L;
    if (!state.map || !a.resolution) return;
    state.answered = true;
    const marks = state.marks;
    marks.clearLayers();
    const p = a.resolution.point;
    const here = L.latLng(p.lat, p.lon);
    const bounds = L.latLngBounds([here]);
    for (const s of a.resolution.schemes) {
      const c = s.banding && s.banding.nearest_centre;
      if (c) {
        const there = L.latLng(c.lat, c.lon);
        L.polyline([here, there], { color: '#1b1b1b', weight: 2, dashArray: '6 4' }).addTo(marks);
        L.circleMarker(there, { radius: 7, color: '#1b1b1b', weight: 2, fillColor: '#ffdd00', fillOpacity: 1 })
          .bindTooltip(`Nearest surgery: ${c.name}`).addTo(marks);
        bounds.extend(there);
      }
      const drawn = new Set();
      for (const area of s.areas || []) {
        const key = (area.matched || area).layer + '/' + (area.matched || area).id;
        if (drawn.has(key)) continue;
        drawn.add(key);
        const gj = await layerGeoJSON(`v1/schemes/${encodeURIComponent(s.scheme)}/layers/${encodeURIComponent((area.matched || area).layer)}.geojson`);
        if (!gj || state.marks !== marks) continue;
        const f = gj.features.filter((x) => String(x.id ?? x.properties.id) === (area.matched || area).id);
        if (!f.length) continue;
        const outline = L.geoJSON({ type: 'FeatureCollection', features: f }, {
          style: () => ({ color: '#6f2c91', weight: 3, dashArray: '8 4', fill: false }),
        }).bindTooltip(`${roleName(area.role)}: ${(area.matched || area).name}`, { sticky: true }).addTo(marks);
        bounds.extend(outline.getBounds());
      }
    }
    L.circleMarker(here, { radius: 8, color: '#fff', weight: 3, fillColor: '#d4351c', fillOpacity: 1 })
      .bindTooltip('Searched point').addTo(marks);
    state.map.fitBounds(bounds.pad(0.3), { maxZoom: 12 });
  }

  // ---- file upload ----------------------------------------------------------------------

  const batchForm = $('batch-form');
  const batchResult = $('batch-result');
  let downloadUrl = null;

  // The rows of a CSV text, quotes honoured (the answer file is careband's own CSV).
  function csvRows(text) {
    const rows = [];
    let row = [];
    let field = '';
    let quoted = false;
    const t = text.replace(/^\uFEFF/, '');
    for (let i = 0; i < t.length; i++) {
      const c = t[i];
      if (quoted) {
        if (c === '"' && t[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') { row.push(field); field = ''; } else if (c === '\n' || c === '\r') {
        if (c === '\r' && t[i + 1] === '\n') i++;
        row.push(field); rows.push(row); row = []; field = '';
      } else field += c;
    }
    if (field || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  // Rows per outcome, read from the answer file's own `status` column (the last one of that
  // name: the input's columns come first).
  function statusCounts(text) {
    const rows = csvRows(text);
    const counts = { rows: 0, answered: 0, outside_coverage: 0, not_found: 0, bad_input: 0, blank: 0 };
    if (!rows.length) return counts;
    const col = rows[0].lastIndexOf('status');
    for (const r of rows.slice(1)) {
      counts.rows++;
      const st = col >= 0 ? r[col] : undefined;
      if (st in counts && st !== 'rows') counts[st]++;
    }
    return counts;
  }

  // "2,007 rows: 1,396 answered, 402 outside coverage, 150 not found, 59 bad input".
  function countsText(c, header) {
    const n = (x) => Number(x).toLocaleString('en-GB');
    const total = header && /^\d+$/.test(header) ? Number(header) : c.rows;
    const parts = [`${n(c.answered)} answered`, `${n(c.outside_coverage)} outside coverage`,
      `${n(c.not_found)} not found`, `${n(c.bad_input)} bad input`];
    if (c.blank) parts.push(`${n(c.blank)} blank`);
    return `${n(total)} row${total === 1 ? '' : 's'}: ${parts.join(', ')}`;
  }

  batchForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = $('batch-file').files[0];
    const say = (...nodes) => batchResult.replaceChildren(...nodes);
    if (!file) { say(h('div', { class: 'error', role: 'alert' }, h('p', {}, 'Choose a CSV file or an Excel workbook first.'))); $('batch-file').focus(); return; }
    const max = Number(batchForm.dataset.maxBytes);
    if (file.size > max) {
      say(h('div', { class: 'error', role: 'alert' }, h('p', {}, `This file is ${(file.size / 1048576).toFixed(1)} MB, over the ${Math.round(max / 1048576)} MB limit. Split it into smaller files.`)));
      return;
    }
    if (/\.(xls|xlsm|xlsb|ods)$/i.test(file.name)) {
      say(h('div', { class: 'error', role: 'alert' }, h('p', {}, 'This kind of spreadsheet is not read. In Excel, choose File, Save As, "Excel Workbook (.xlsx)" or "CSV UTF-8", and upload that file.')));
      return;
    }
    const workbook = /\.xlsx$/i.test(file.name);
    const xlsxType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    say(h('p', {}, `Answering ${file.name}...`));
    const date = $('batch-date').value || today();
    try {
      const res = await fetch(`v1/batch?${workbook ? 'format=xlsx' : 'excel=true'}&date=${encodeURIComponent(date)}`, {
        method: 'POST', headers: { 'Content-Type': workbook ? xlsxType : 'text/csv' }, body: file,
      });
      if (!res.ok) {
        let msg = `The file could not be answered (error ${res.status}).`;
        try { const j = await res.json(); if (j.error) msg = j.error.message.replace(/^./, (c) => c.toUpperCase()); } catch (e) { /* keep msg */ }
        say(h('div', { class: 'error', role: 'alert' }, h('p', {}, msg)));
        return;
      }
      const rows = res.headers.get('Careband-Rows');
      const blob = await res.blob();
      if (downloadUrl) URL.revokeObjectURL(downloadUrl);
      downloadUrl = URL.createObjectURL(blob);
      const name = file.name.replace(/\.[^.]*$/, '') + `-bands-${date}.${workbook ? 'xlsx' : 'csv'}`;
      // A workbook's counts come in a header (it is sent whole); a CSV's are read from it.
      const line = workbook ? (res.headers.get('Careband-Summary') || `${rows} rows`) : countsText(statusCounts(await blob.text()), rows);
      say(h('p', { 'data-testid': 'batch-counts' }, `Done: ${line} for ${longDate(date)}. `,
        h('a', { class: 'download', href: downloadUrl, download: name, 'data-testid': 'download' }, `Download ${name}`)));
    } catch (e) {
      say(h('div', { class: 'error', role: 'alert' }, h('p', {}, 'The upload failed: careband could not be reached, or the connection broke. Try again.')));
    }
  });

  // ---- start ----------------------------------------------------------------------------

  async function start() {
    if (params.get('embed') === '1') document.body.classList.add('embed');
    const date = /^\d{4}-\d{2}-\d{2}$/.test(params.get('date') || '') ? params.get('date') : today();
    dateInput.value = date;
    $('batch-date').value = today();
    try {
      const r = await getJSON('v1/schemes');
      if (r.ok) {
        state.schemes = r.body.schemes || [];
        $('dataset-version').textContent = r.body.dataset_version;
      }
    } catch (e) {
      $('dataset-version').textContent = 'unknown (careband could not be reached)';
    }
    const first = params.get('q');
    if (first) { q.value = first; search(first); }
    await initMap();
    dateInput.addEventListener('change', () => {
      drawSchemes();
      if (q.value.trim()) search(q.value);
    });
  }

  start();
}());
