/// Keeps the best `k` documents by a numeric field (ascending or descending; documents without a
/// value last; ties by id, then doc).
final class FieldSortCollector {
    struct Entry {
        var value: Double?
        var doc: Int
        var id: String?
    }

    let k: Int
    let descending: Bool
    let searcher: Searcher
    let after: (value: Double?, id: String)?
    /// Ids increase with doc numbers across the whole searcher: ties compare doc numbers, no id fetch.
    let docOrderIsIdOrder: Bool
    private var heap: [Entry] = []   // worst at the top
    private(set) var totalHits = 0

    init(k: Int, descending: Bool, searcher: Searcher, after: (value: Double?, id: String)?) {
        self.k = k
        self.descending = descending
        self.searcher = searcher
        self.after = after
        docOrderIsIdOrder = searcher.docOrderIsIdOrder
        heap.reserveCapacity(min(k, 1 << 16))
    }

    private func id(_ e: inout Entry) -> String {
        if let i = e.id { return i }
        let i = (try? searcher.id(of: e.doc)) ?? ""
        e.id = i
        return i
    }

    /// Compares values only: <0 if a sorts first, >0 if b, 0 if tied.
    @inline(__always) private func compareValues(_ a: Double?, _ b: Double?) -> Int {
        switch (a, b) {
        case (nil, nil): return 0
        case (nil, _): return 1
        case (_, nil): return -1
        case (let x?, let y?):
            if x == y { return 0 }
            return (x < y) != descending ? -1 : 1
        }
    }

    /// Whether `a` sorts before `b`.
    private func before(_ a: inout Entry, _ b: inout Entry) -> Bool {
        let c = compareValues(a.value, b.value)
        if c != 0 { return c < 0 }
        if docOrderIsIdOrder { return a.doc < b.doc }
        let ia = id(&a), ib = id(&b)
        if ia != ib { return ia < ib }
        return a.doc < b.doc
    }

    func collect(doc: Int, value: Double?) {
        var e = Entry(value: value, doc: doc, id: nil)
        if let after {
            let c = compareValues(value, after.value)
            if c < 0 { return }
            if c == 0 && id(&e) <= after.id { return }
        }
        totalHits += 1
        if k == 0 { return }
        if heap.count < k {
            heap.append(e)
            siftUp(heap.count - 1)
            return
        }
        // Cheap rejection on the value alone.
        let c = compareValues(value, heap[0].value)
        if c > 0 { return }
        var top = heap[0]
        if c == 0 && !before(&e, &top) { heap[0] = top; return }
        heap[0] = e
        siftDown(0)
    }

    private func worse(_ i: Int, _ j: Int) -> Bool {
        var a = heap[i], b = heap[j]
        let r = before(&b, &a)
        heap[i] = a
        heap[j] = b
        return r
    }

    private func siftUp(_ i0: Int) {
        var i = i0
        while i > 0 {
            let p = (i - 1) / 2
            if worse(i, p) { heap.swapAt(i, p); i = p } else { break }
        }
    }

    private func siftDown(_ i0: Int) {
        var i = i0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && worse(l, m) { m = l }
            if r < heap.count && worse(r, m) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
    }

    func sorted() -> [Entry] {
        var out = heap
        for i in out.indices { _ = id(&out[i]) }
        out.sort { a, b in
            var x = a, y = b
            return before(&x, &y)
        }
        return out
    }
}
