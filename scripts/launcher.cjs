#!/usr/bin/env node
// The `effect-swarm` launcher. It runs the bundled CLI (cli.cjs beside this file) through a V8 code
// cache kept under the state root (`$EFFECT_SWARM_HOME/cache/v8`, by default `~/.effect-swarm/cache/v8`),
// one file per command, Node version and bundle: a start then neither parses nor compiles what the
// previous run of that command already compiled. Node 20 has no built-in module compile cache (22.1+
// has one), hence this. Without a usable cache (none yet, or rejected by V8) the bundle is compiled from
// source and the cache written at exit; EFFECT_SWARM_CODE_CACHE=0 loads the bundle with a plain require().
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS launcher */
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const vm = require("node:vm");
const Module = require("node:module");

const bundle = path.join(__dirname, "cli.cjs");

// The bundle's dynamic import() calls (tool and extension modules, tsx) land here: a function V8 restores
// from a code cache cannot import on Node 20, this module's own import() can (see scripts/bundle-bin.mjs).
globalThis.__effectSwarmImport = (specifier) => import(specifier);

const stateRoot = () => {
  const raw = (process.env.EFFECT_SWARM_HOME || "").trim();
  if (raw === "") return path.join(os.homedir(), ".effect-swarm");
  if (raw === "~" || raw.startsWith("~/")) return path.join(os.homedir(), raw.slice(1));
  return path.resolve(raw);
};

// mkdir -p, one level at a time: Node 20's recursive mkdirSync never returns for a path under /proc.
const mkdirs = (dir) => {
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    if (e.code === "EEXIST") return;
    const parent = path.dirname(dir);
    if (e.code !== "ENOENT" || parent === dir) throw e;
    mkdirs(parent);
    fs.mkdirSync(dir);
  }
};

const run = () => {
  const stat = fs.statSync(bundle);
  const command = /^[a-z][a-z-]{0,30}$/.test(process.argv[2] || "") ? process.argv[2] : "default";
  const key = [command, process.version, process.arch, stat.size, Math.trunc(stat.mtimeMs)].join("-");
  const cacheFile = path.join(stateRoot(), "cache", "v8", `cli-${key}.bin`);
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const text = fs.readFileSync(bundle, "utf8");
  // The bundle keeps bin.ts's hashbang line, which is not valid inside the module wrapper.
  const source = text.startsWith("#!") ? `//${text.slice(2)}` : text;
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected === true) {
    // Written at exit, so that the functions this command ran are in it (V8 compiles lazily).
    process.once("exit", () => {
      try {
        mkdirs(path.dirname(cacheFile));
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch (e) {
        // A cache is an optimisation: a read-only or full disk only costs the next start its compile time.
        process.stderr.write(
          `effect-swarm: warning: cannot write the code cache ${path.dirname(cacheFile)} (${e.code || e.message}); `
            + "starts stay slower. Set EFFECT_SWARM_HOME to a writable directory, or EFFECT_SWARM_CODE_CACHE=0.\n",
        );
      }
    });
  }
  const module_ = { exports: {}, filename: bundle, id: bundle, loaded: false };
  script.runInThisContext().call(
    module_.exports,
    module_.exports,
    Module.createRequire(bundle),
    module_,
    bundle,
    __dirname,
  );
};

if (process.env.EFFECT_SWARM_CODE_CACHE === "0") require(bundle);
else run();
