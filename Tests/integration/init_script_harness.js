// Runs a served init.js in Node with a stubbed window and document, then calls the queued
// getAuthTokenCallback, and prints what happened as JSON for test_init_script.py.
//
//   node init_script_harness.js '{"script": "init.js", "origin": "http://127.0.0.1:PORT",
//                                  "headers": {...}, "failFetch": false, "runs": 2, "calls": 2}'
//
// The stubbed fetch records each call and, unless failFetch is set, forwards it to `origin`
// (the front nginx) with `headers` added, so the callback talks to the real token route.
"use strict";
const fs = require("fs");
const vm = require("vm");

const config = JSON.parse(process.argv[2]);
const source = fs.readFileSync(config.script, "utf8");

const inserted = [];
const fetches = [];
const firstScript = {
  parentNode: {
    insertBefore(node, before) {
      inserted.push({ tag: node.tagName, src: node.src, async: node.async, beforeFirstScript: before === firstScript });
    },
  },
};
const document = {
  createElement(tag) {
    return { tagName: tag.toLowerCase() };
  },
  getElementsByTagName(tag) {
    return tag === "script" ? [firstScript] : [];
  },
  head: {
    appendChild(node) {
      inserted.push({ tag: node.tagName, src: node.src, appendedToHead: true });
    },
  },
};

async function stubbedFetch(url, options) {
  fetches.push({ url, options: JSON.parse(JSON.stringify(options || null)) });
  if (config.failFetch) {
    throw new TypeError("Failed to fetch");
  }
  const headers = Object.assign({}, options && options.headers, config.headers || {});
  return fetch(config.origin + url, { method: "GET", headers });
}

const window = { fetch: stubbedFetch };
const context = vm.createContext({ window, document });
for (let run = 0; run < (config.runs || 1); run++) {
  vm.runInContext(source, context, { filename: "init.js" });
}

(async () => {
  // Each queue entry is the arguments of one eS.c call, whose first is the arguments of eS(…).
  const queue = window.eS.q.map((entry) => Array.from(entry[0]));
  const [command, flags, options] = queue[0];
  const tokens = [];
  for (let call = 0; call < (config.calls || 2); call++) {
    tokens.push(await options.getAuthTokenCallback());
  }
  console.log(JSON.stringify({
    eSIsFunction: typeof window.eS === "function",
    queueLength: queue.length,
    command,
    flags: JSON.parse(JSON.stringify(flags)),
    language: options.language,
    optionKeys: Object.keys(options).sort(),
    tokens,
    fetches,
    inserted,
  }));
})().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
