import ArgumentParser
import Foundation
import AisleCatalog
import AisleCommerce

/// Opens the catalog database and applies the catalog's and commerce's migrations.
func commerceDatabase(_ given: String?) throws -> String {
    guard let url = CatalogDatabase.url(given) else {
        throw CatalogError.input("no database: pass --database or set DATABASE_URL")
    }
    let db = try CatalogDatabase(url: url)
    try CommerceMigrations.migrate(db.conn)
    return url
}

struct OrdersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders",
        abstract: "Orders in PostgreSQL: rebuild the read model from the events and compare.",
        subcommands: [OrdersRebuildCommand.self]
    )
}

struct OrdersRebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Replay every order event into a fresh read model and compare it with the live one.",
        discussion: """
        First applies any events the live projector has not applied yet (unless a running server's
        projector holds the leader lock; it is then left to it). Then, in one snapshot, replays every
        event up to the projector's checkpoint into a fresh table with the projector's own code and
        compares it row by row with order_summaries. Exits 0 when they are equal, 1 naming the
        orders that differ. The live read model is not changed.
        """
    )

    @Option(help: "PostgreSQL URL (default: $DATABASE_URL).") var database: String?
    @Flag(help: "No progress line.") var quiet = false

    func run() throws {
        let report: OrderProjector.RebuildReport
        let t0 = Date()
        do {
            let url = try commerceDatabase(database)
            report = try OrderProjector(url: url).rebuild { n in
                if !quiet && n % 50_000 < 5000 { FileHandle.standardError.write(Data("\rreplayed \(n) events".utf8)) }
            }
            if !quiet { FileHandle.standardError.write(Data("\r".utf8)) }
        } catch {
            throw fail("\(error)")
        }
        let secs = String(format: "%.2f", Date().timeIntervalSince(t0))
        let caught = report.caughtUp.map { "applied \($0) pending events first" } ?? "a running projector is the leader; compared up to its checkpoint"
        print("orders rebuild: replayed \(report.events) events into \(report.orders) orders in \(secs) s (\(caught); orders with \(report.pending) events after the checkpoint not compared)")
        if report.differenceCount == 0 {
            print("read model: identical to the replay")
        } else {
            print("read model: \(report.differenceCount) orders differ from the replay: \(report.differences.map(String.init).joined(separator: ", "))\(report.differenceCount > report.differences.count ? ", …" : "")")
            throw ExitCode(1)
        }
    }
}

struct InventoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Stock and its ledger: check the invariants.",
        subcommands: [InventoryCheckCommand.self]
    )
}

struct InventoryCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify the stock invariants; exit 1 naming the first violation.",
        discussion: """
        In one snapshot: nothing negative; per product, stock now = stock at start + the sum of its
        movements; every order line has exactly its one 'order' movement; canceled and expired
        orders released their stock once, other orders never; every order movement belongs to a
        line; every order's status and version match its events.
        """
    )

    @Option(help: "PostgreSQL URL (default: $DATABASE_URL).") var database: String?

    func run() throws {
        let report: InventoryStore.CheckReport
        do {
            let url = try commerceDatabase(database)
            report = try InventoryStore(pool: PostgresPool(url: url, maxIdle: 1)).check()
        } catch {
            throw fail("\(error)")
        }
        let counts = "\(report.products) products, \(report.movements) movements, \(report.orders) orders, \(report.orderLines) order lines"
        if let first = report.violations.first {
            FileHandle.standardError.write(Data("inventory check: FAILED (\(counts))\nfirst violation: \(first)\n".utf8))
            for more in report.violations.dropFirst() { FileHandle.standardError.write(Data("also: \(more)\n".utf8)) }
            throw ExitCode(1)
        }
        print("inventory check: OK (\(counts))")
    }
}
