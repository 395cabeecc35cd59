/**
 * A generic walk over a Babel syntax tree: every child found in any field of
 * a node, in field order, with the chain of ancestors. It keeps its own stack
 * instead of recursing, so a deeply nested file cannot overflow the call stack.
 */
import type { Node } from '@babel/types';

/**
 * Called on entering each node. `ancestors` is the live chain from the root
 * to the parent: copy it to keep it. Returning false skips the node's children.
 */
export type Visitor = (node: Node, ancestors: readonly Node[]) => void | false;

// Positions and comments are not children; comments would otherwise be
// visited twice (leading of one node, trailing of the one before).
const NOT_CHILDREN = new Set(['loc', 'start', 'end', 'range', 'extra', 'leadingComments', 'trailingComments', 'innerComments', 'comments', 'tokens', 'errors']);

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function childrenOf(node: Node): Node[] {
  const children: Node[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (NOT_CHILDREN.has(key)) continue;
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) children.push(item);
    } else if (isNode(value)) {
      children.push(value);
    }
  }
  return children;
}

/** Walks `root` depth-first, calling `visitor` on entering each node. */
export function visit(root: Node, visitor: Visitor): void {
  const ancestors: Node[] = [];
  const stack: Array<{ node: Node; leave: boolean }> = [{ node: root, leave: false }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.leave) {
      ancestors.pop();
      continue;
    }
    if (visitor(item.node, ancestors) === false) continue;
    ancestors.push(item.node);
    stack.push({ node: item.node, leave: true });
    for (const child of childrenOf(item.node).reverse()) stack.push({ node: child, leave: false });
  }
}
