/**
 * A node that can sit in at most one IntrusiveList at a time. The links live on
 * the node itself so that queueing, dequeueing and removing a cancelled waiter
 * from the middle are all O(1) and allocate nothing (an array queue would need
 * O(n) splices for timeouts and aborts).
 */
export interface ListNode<T extends ListNode<T>> {
  prev: T | null;
  next: T | null;
  list: IntrusiveList<T> | null;
}

export class IntrusiveList<T extends ListNode<T>> {
  head: T | null = null;
  tail: T | null = null;
  size = 0;

  push(node: T): void {
    node.list = this;
    node.prev = this.tail;
    node.next = null;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.size++;
  }

  /** Removes `node` if it is in this list; returns whether it was. */
  remove(node: T): boolean {
    if (node.list !== this) return false;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
    node.list = null;
    this.size--;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let node = this.head; node; node = node.next) yield node;
  }
}
