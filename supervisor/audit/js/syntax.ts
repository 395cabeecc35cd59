/**
 * Small readers of Babel nodes shared by the JS rules: calls and members in
 * their plain and optional forms, names, literals, and lines.
 */
import type { Function as BabelFunction, Node } from '@babel/types';

/** A function of any form: declaration, expression, arrow or method. */
export type FunctionNode = BabelFunction;

/** Peels what does not change a value: TS casts and assertions, parentheses and `await`. */
export function unwrap(node: Node): Node {
  let current = node;
  for (;;) {
    switch (current.type) {
      case 'TSAsExpression':
      case 'TSSatisfiesExpression':
      case 'TSNonNullExpression':
      case 'TSTypeAssertion':
      case 'ParenthesizedExpression':
        current = current.expression;
        break;
      case 'AwaitExpression':
        current = current.argument;
        break;
      default:
        return current;
    }
  }
}

/** The callee and arguments of a call, plain or optional (`a?.()`). */
export function asCall(node: Node): { callee: Node; args: Node[] } | undefined {
  if (node.type !== 'CallExpression' && node.type !== 'OptionalCallExpression') return undefined;
  return { callee: node.callee, args: node.arguments };
}

/** `a.b`, `a?.b`, `a['b']` and `a.#b` as object and property name. */
export function asMember(node: Node): { object: Node; property: string } | undefined {
  if (node.type !== 'MemberExpression' && node.type !== 'OptionalMemberExpression') return undefined;
  const { object, property } = node;
  if (property.type === 'PrivateName') return { object, property: property.id.name };
  if (!node.computed && property.type === 'Identifier') return { object, property: property.name };
  const literal = stringValue(property);
  return literal === undefined ? undefined : { object, property: literal };
}

/** A call of a method, `receiver.method(...args)`. */
export function methodCall(node: Node): { receiver: Node; method: string; args: Node[] } | undefined {
  const call = asCall(node);
  const member = call === undefined ? undefined : asMember(unwrap(call.callee));
  if (call === undefined || member === undefined) return undefined;
  return { receiver: member.object, method: member.property, args: call.args };
}

/** The last name of an expression: `x`, `a.b.x` and `this.x` are all "x". */
export function nameOf(node: Node): string | undefined {
  const bare = unwrap(node);
  if (bare.type === 'Identifier') return bare.name;
  return asMember(bare)?.property;
}

/** The dotted source form of an expression, like `http.createServer` or `this.server`. */
export function dottedName(node: Node): string | undefined {
  const bare = unwrap(node);
  if (bare.type === 'Identifier') return bare.name;
  if (bare.type === 'ThisExpression') return 'this';
  const member = asMember(bare);
  if (member === undefined) return undefined;
  const object = dottedName(member.object);
  return object === undefined ? member.property : `${object}.${member.property}`;
}

/** The identifier an expression is rooted at: `a` for `a.b.c()`. */
export function rootName(node: Node): string | undefined {
  const bare = unwrap(node);
  if (bare.type === 'Identifier') return bare.name;
  const member = asMember(bare);
  if (member !== undefined) return rootName(member.object);
  const call = asCall(bare);
  return call === undefined ? undefined : rootName(call.callee);
}

/** The value of a string literal or of a template without substitutions. */
export function stringValue(node: Node): string | undefined {
  if (node.type === 'StringLiteral') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? undefined;
  return undefined;
}

/** The name of a property or method key. */
export function keyName(key: Node): string | undefined {
  if (key.type === 'Identifier') return key.name;
  if (key.type === 'PrivateName') return key.id.name;
  return stringValue(key);
}

/** Whether `node` is a function of any form. */
export function isFunction(node: Node): node is FunctionNode {
  switch (node.type) {
    case 'FunctionDeclaration':
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
    case 'ObjectMethod':
    case 'ClassMethod':
    case 'ClassPrivateMethod':
      return true;
    default:
      return false;
  }
}

/** Whether `node` is `process` or `globalThis.process`. */
export function isProcess(node: Node): boolean {
  const name = dottedName(node);
  return name === 'process' || name === 'globalThis.process';
}

/** The 1-based line where `node` starts. */
export function lineOf(node: Node): number {
  return node.loc?.start.line ?? 1;
}
