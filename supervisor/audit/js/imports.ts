/**
 * Where the names of one file come from: ES imports and CommonJS requires,
 * so `new Server()` from 'ws' and `serve()` from '@hono/node-server' can be
 * told from a Server or a serve of the service's own.
 */
import type { File, Node } from '@babel/types';
import { asCall, asMember, keyName, nameOf, stringValue, unwrap } from './syntax.ts';
import { visit } from './visit.ts';

/** The module a local name was imported from, without a `node:` prefix. */
export type ImportMap = ReadonlyMap<string, string>;

function normalize(module: string): string {
  return module.startsWith('node:') ? module.slice('node:'.length) : module;
}

/** The module of `require('m')` or `require('m').x`. */
function requiredModule(init: Node): string | undefined {
  let node = unwrap(init);
  const member = asMember(node);
  if (member !== undefined) node = unwrap(member.object);
  const call = asCall(node);
  if (call === undefined || nameOf(call.callee) !== 'require' || call.callee.type !== 'Identifier') return undefined;
  const first = call.args[0];
  const module = first === undefined ? undefined : stringValue(first);
  return module === undefined ? undefined : normalize(module);
}

/** Every imported or required local name of the file, with its module. */
export function collectImports(ast: File): ImportMap {
  const imports = new Map<string, string>();
  visit(ast.program, (node) => {
    if (node.type === 'ImportDeclaration') {
      for (const specifier of node.specifiers) imports.set(specifier.local.name, normalize(node.source.value));
      return false;
    }
    if (node.type !== 'VariableDeclarator' || node.init == null) return;
    const module = requiredModule(node.init);
    if (module === undefined) return;
    if (node.id.type === 'Identifier') imports.set(node.id.name, module);
    if (node.id.type === 'ObjectPattern') {
      for (const property of node.id.properties) {
        if (property.type !== 'ObjectProperty') continue;
        const local = property.value.type === 'Identifier' ? property.value.name : keyName(property.key);
        if (local !== undefined) imports.set(local, module);
      }
    }
  });
  return imports;
}

/**
 * Each `NAME = [...]` and `NAME = '...'` of the file, to read signal names
 * kept in constants, like `for (const s of SIGNALS)`.
 */
export function collectConstants(ast: File): ReadonlyMap<string, Node> {
  const constants = new Map<string, Node>();
  visit(ast.program, (node) => {
    if (node.type === 'VariableDeclarator' && node.id.type === 'Identifier' && node.init != null) {
      const init = unwrap(node.init);
      if (init.type === 'ArrayExpression' || stringValue(init) !== undefined) constants.set(node.id.name, init);
    }
  });
  return constants;
}
