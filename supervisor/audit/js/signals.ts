/**
 * Reading which signals a registration is for: a literal, a constant, or the
 * variable of a loop over a list, as in
 * `for (const s of ['SIGINT', 'SIGTERM']) process.on(s, stop)` or
 * `SIGNALS.forEach((s) => process.on(s, stop))`.
 */
import type { Node } from '@babel/types';
import { asMember, isFunction, methodCall, stringValue, unwrap } from './syntax.ts';

/** The strings of a list, following one constant name. */
function listValues(node: Node, constants: ReadonlyMap<string, Node>): string[] | undefined {
  const bare = unwrap(node);
  const list = bare.type === 'Identifier' ? constants.get(bare.name) : bare;
  if (list?.type !== 'ArrayExpression') return undefined;
  return list.elements.flatMap((element) => {
    if (element === null) return [];
    const value = signalsOf(element, [], constants);
    return value ?? [];
  });
}

/** The list a loop variable `name` runs over, searching the enclosing loops and callbacks. */
function loopList(name: string, ancestors: readonly Node[], constants: ReadonlyMap<string, Node>): string[] | undefined {
  for (let i = ancestors.length - 1; i >= 0; i -= 1) {
    const node = ancestors[i];
    if (node?.type === 'ForOfStatement' && node.left.type === 'VariableDeclaration') {
      const id = node.left.declarations[0]?.id;
      if (id?.type === 'Identifier' && id.name === name) return listValues(node.right, constants);
    }
    if (node !== undefined && isFunction(node)) {
      const param = node.params[0];
      if (param?.type !== 'Identifier' || param.name !== name) continue;
      const parent = ancestors[i - 1];
      const loop = parent === undefined ? undefined : methodCall(parent);
      return loop?.method === 'forEach' || loop?.method === 'map' ? listValues(loop.receiver, constants) : undefined;
    }
  }
  return undefined;
}

/**
 * The signal names `event` can be, or undefined when it is a variable this
 * reading cannot follow (a parameter, a value computed at run time).
 */
export function signalsOf(event: Node, ancestors: readonly Node[], constants: ReadonlyMap<string, Node>): string[] | undefined {
  const bare = unwrap(event);
  const literal = stringValue(bare);
  if (literal !== undefined) return [literal];
  // os.constants.signals.SIGTERM and the like.
  const property = asMember(bare)?.property;
  if (property?.startsWith('SIG') === true) return [property];
  if (bare.type !== 'Identifier') return undefined;
  const looped = loopList(bare.name, ancestors, constants);
  if (looped !== undefined) return looped;
  const constant = constants.get(bare.name);
  return constant === undefined || constant.type === 'ArrayExpression' ? undefined : signalsOf(constant, [], constants);
}
