/** Disposal in one place: a store of disposables, and a base class that registers into one. */
import { Disposable } from 'vscode';

/** Disposables disposed together, newest first; adding to a disposed store disposes at once. */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;

  add<T extends Disposable>(item: T): T {
    if (this.disposed) {
      item.dispose();
    } else {
      this.items.push(item);
    }
    return item;
  }

  /** Disposes everything added so far; the store stays usable. */
  clear(): void {
    for (const item of this.items.splice(0).reverse()) {
      item.dispose();
    }
  }

  dispose(): void {
    this.clear();
    this.disposed = true;
  }
}

/** A base for classes that own disposables: `this.register(x)` ties x to the object's lifetime. */
export abstract class DisposableObject implements Disposable {
  private readonly store = new DisposableStore();

  protected register<T extends Disposable>(item: T): T {
    return this.store.add(item);
  }

  dispose(): void {
    this.store.dispose();
  }
}
