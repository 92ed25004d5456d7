// ES module resolution that searches NODE_PATH, as AWS's Node.js runtimes (18.x and later) do,
// so an `import` of a package in a layer (`/opt/nodejs/node_modules`,
// `/opt/nodejs/nodeNN/node_modules`) finds it. Node's own ESM resolver ignores NODE_PATH.
//
// Registered by index.cjs with `module.register` (it runs on the loader thread) only when one
// of NODE_PATH's `node_modules` directories exists: the loader thread costs startup time. A
// bare specifier that Node cannot resolve from the importing module is tried in each of those
// directories, in NODE_PATH order; anything else is Node's answer as it is.

import { pathToFileURL } from 'node:url';

/** The `node_modules` directories to search, from `initialize`. */
let directories = [];

export function initialize(data) {
  directories = data?.directories ?? [];
}

/** `lodash`, `@aws-sdk/client-s3/x`: not relative, absolute, a URL or a builtin. */
function isBare(specifier) {
  return !/^(?:\.{0,2}\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier) && specifier !== '.' && specifier !== '..';
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !isBare(specifier)) throw error;
    for (const directory of directories) {
      try {
        // Resolved as if imported by a module in `directory`: Node looks in `directory` itself.
        return await nextResolve(specifier, { ...context, parentURL: pathToFileURL(`${directory}/_`).href });
      } catch {
        // Not there: the next directory, then Node's own error.
      }
    }
    throw error;
  }
}
