/// Unretained references to the elements of an array its owner keeps alive: scorer loops over
/// children and cursors read them without retaining and releasing each element on every step (the
/// reference counting an array of class instances costs in a hot loop). The owner frees it in its
/// `deinit`, and must keep the array for as long as the list is used.
struct Unretained<T: AnyObject> {
    let base: UnsafeMutablePointer<Unmanaged<T>>
    let count: Int

    init(_ objects: [T]) {
        count = objects.count
        base = .allocate(capacity: max(objects.count, 1))
        for (i, o) in objects.enumerated() { base[i] = .passUnretained(o) }
    }

    func free() { base.deallocate() }

    /// Calls `body` with element `i`, unretained.
    @inline(__always) func with<R>(_ i: Int, _ body: (T) -> R) -> R {
        base[i]._withUnsafeGuaranteedRef(body)
    }

    @inline(__always) func set(_ i: Int, _ object: T) { base[i] = .passUnretained(object) }
}
