// browser.js: a real Chromium, headless, with pages a test drives line
// by line.
//
// The Go tests (internal/chatpage/browser_test.go) use it to open the chat
// page in real browser tabs, type into it, click, and wait for what a
// person would see. npm's puppeteer-core talks to Chromium over the
// DevTools protocol; it downloads no browser: this file starts the one the
// system has (Debian's `chromium` package).
//
// Run:   node browser.js [--chromium /usr/bin/chromium]
//        (install first: npm ci --prefix peers/node; apt-get install chromium)
//
// Once Chromium runs it prints {"ready":VERSION,"pid":PID} on stdout (PID
// is Chromium's own: puppeteer starts it in a process group of its own,
// so a test that must kill it kills that group). Then it reads one JSON
// command a line on stdin and answers each with one JSON line, in order:
// {"id":N,"ok":true,"value":…} or {"id":N,"error":"…"}.
//
//   {"id":1,"open":"ann","url":"http://…"}        a new tab called ann, at url
//   {"id":2,"page":"ann","type":"#text","text":"hi"}  type into an element
//   {"id":3,"page":"ann","click":"#send button"}  click an element
//   {"id":4,"page":"ann","waitText":"bob: hi","in":"#log","timeout":10000}
//                                                 wait until the element's text
//                                                 contains it (default in: body)
//   {"id":5,"page":"ann","eval":"document.title"} a JavaScript expression's value
//   {"id":6,"page":"ann","screenshot":"/tmp/x.png"}
//   {"id":7,"page":"ann","close":true}
//
// A failed wait answers the error with the page's status and chat log, to
// read a failed test. What the pages print on their console goes to
// stderr, one line each, prefixed with the tab's name. End of stdin, or
// SIGTERM, closes Chromium and exits 0 (a command still waiting is dropped).

'use strict';

const readline = require('node:readline');
const puppeteer = require('puppeteer-core');

const USAGE = 'usage: node browser.js [--chromium PATH]';

function parseArgs(argv) {
  const opts = { chromium: '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--chromium' && i + 1 < argv.length) {
      opts.chromium = argv[++i];
    } else {
      console.error(`browser.js: unknown argument ${JSON.stringify(argv[i])}\n${USAGE}`);
      process.exit(2);
    }
  }
  return opts;
}

const pages = new Map(); // tab name → puppeteer Page

async function open(name, url) {
  if (pages.has(name)) throw new Error(`a tab called ${name} is already open`);
  const page = await browser.newPage();
  page.on('console', (m) => console.error(`[${name}] console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (err) => console.error(`[${name}] page error: ${err.message}`));
  page.on('requestfailed', (r) => console.error(`[${name}] request failed: ${r.method()} ${r.url()} ${r.failure() && r.failure().errorText}`));
  pages.set(name, page);
  const res = await page.goto(url, { waitUntil: 'load', timeout: 10000 });
  if (!res || !res.ok()) throw new Error(`GET ${url} answered ${res ? res.status() : 'nothing'}`);
}

// What a person would see, for a failure message.
async function seen(page) {
  return page.evaluate(() => {
    const text = (sel) => (document.querySelector(sel) || { innerText: '(none)' }).innerText;
    return `status: ${text('#status')}\nlog:\n${text('#log')}`;
  }).catch((err) => `(could not read the page: ${err.message})`);
}

async function run(cmd) {
  if (cmd.open !== undefined) return open(cmd.open, cmd.url);
  const page = pages.get(cmd.page);
  if (!page) throw new Error(`no tab called ${JSON.stringify(cmd.page)}`);
  // A person looks at a tab before typing into it: bring it to the front.
  if (cmd.type !== undefined) return page.bringToFront().then(() => page.type(cmd.type, cmd.text));
  if (cmd.click !== undefined) return page.bringToFront().then(() => page.click(cmd.click));
  if (cmd.eval !== undefined) return page.evaluate(cmd.eval);
  if (cmd.screenshot !== undefined) {
    await page.bringToFront();
    return void (await page.screenshot({ path: cmd.screenshot }));
  }
  if (cmd.close) {
    pages.delete(cmd.page);
    return page.close();
  }
  if (cmd.waitText !== undefined) {
    const where = cmd.in || 'body';
    try {
      await page.waitForFunction(
        (sel, want) => { const el = document.querySelector(sel); return el && el.innerText.includes(want); },
        { timeout: cmd.timeout || 10000, polling: 50 }, where, cmd.waitText);
    } catch (err) {
      throw new Error(`${cmd.page}: no ${JSON.stringify(cmd.waitText)} in ${where}: ${err.message}\n${await seen(page)}`);
    }
    return;
  }
  throw new Error('unknown command');
}

function answer(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

let browser = null;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  // --no-sandbox: Chromium's sandbox refuses to run as root, which test
  // containers are; the pages are our own, on loopback.
  browser = await puppeteer.launch({
    executablePath: opts.chromium,
    headless: true,
    // The background flags: several tabs of one window chat at once, and
    // Chromium would otherwise slow the timers (a reconnection's backoff)
    // and stop the rendering (a click waits for a frame) of all but one.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows'],
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
  });
  answer({ ready: await browser.version(), pid: browser.process().pid });

  // One command at a time, in order: a queue of promises.
  let queue = Promise.resolve();
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      let cmd;
      try {
        cmd = JSON.parse(line);
      } catch (err) {
        answer({ id: null, error: `not a JSON command: ${err.message}` });
        return;
      }
      try {
        const value = await run(cmd);
        answer({ id: cmd.id, ok: true, value: value === undefined ? null : value });
      } catch (err) {
        answer({ id: cmd.id, error: err.message });
      }
    });
  });
  // End of stdin ends everything, even a command still waiting.
  lines.on('close', quit);
}

// Chromium gets 5 s to close; then its process group is killed, by
// Chromium's PID.
async function quit() {
  if (browser) {
    const pid = browser.process().pid;
    const timer = setTimeout(() => {
      try { process.kill(-pid, 'SIGKILL'); } catch {}
      process.exit(1);
    }, 5000);
    await browser.close().catch(() => {});
    clearTimeout(timer);
  }
  process.exit(0);
}

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, quit);

main().catch((err) => {
  console.error(`browser.js: ${err.message}`);
  if (browser) browser.close().catch(() => {});
  process.exit(1);
});
