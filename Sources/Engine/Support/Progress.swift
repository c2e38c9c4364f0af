import Foundation
import Synchronization

/// A progress bar on standard error, shown only when it is a terminal, redrawn at most ten times
/// a second. Thread-safe.
public final class ProgressBar: Sendable {
    private struct State {
        var done: Int = 0
        var lastDraw: Double = 0
        var items: Int = 0
    }
    private let total: Int
    private let label: String
    private let unit: String
    private let enabled: Bool
    private let start = Date()
    private let state = Mutex(State())

    /// `total` in the same unit as `advance` (bytes, rows...); `unit` names the items counted.
    public init(label: String, total: Int, unit: String = "docs", enabled: Bool? = nil) {
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        self.enabled = enabled ?? (isatty(2) != 0)
    }

    /// Adds `amount` of progress and `items` counted items.
    public func advance(by amount: Int, items: Int = 0) {
        guard enabled else { return }
        let now = Date().timeIntervalSince(start)
        let draw = state.withLock { s -> (Int, Int)? in
            s.done += amount
            s.items += items
            if now - s.lastDraw < 0.1 && s.done < total { return nil }
            s.lastDraw = now
            return (s.done, s.items)
        }
        if let (done, items) = draw { render(done: done, items: items, elapsed: now) }
    }

    private func render(done: Int, items: Int, elapsed: Double) {
        let frac = min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(frac * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let rate = elapsed > 0 ? Double(items) / elapsed : 0
        let eta = frac > 0.001 ? elapsed / frac - elapsed : 0
        let line = String(format: "\r%@ %@ %5.1f%% %@ %@ (%@/s) ETA %@   ", label, bar, frac * 100,
                          formatCount(items), unit, formatCount(Int(rate)), formatDuration(eta))
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Clears the bar's line.
    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}

public func formatCount(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, c) in s.reversed().enumerated() {
        if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
        out.append(c)
    }
    return String(out.reversed())
}

public func formatDuration(_ s: Double) -> String {
    if s < 60 { return String(format: "%.0fs", s) }
    if s < 3600 { return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) }
    return String(format: "%dh%02dm", Int(s) / 3600, (Int(s) % 3600) / 60)
}

public func formatBytes(_ b: UInt64) -> String {
    let d = Double(b)
    if d < 1024 { return "\(b) B" }
    if d < 1024 * 1024 { return String(format: "%.1f KiB", d / 1024) }
    if d < 1024 * 1024 * 1024 { return String(format: "%.1f MiB", d / 1024 / 1024) }
    return String(format: "%.2f GiB", d / 1024 / 1024 / 1024)
}
