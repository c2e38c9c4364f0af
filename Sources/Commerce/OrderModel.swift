import Foundation

/// Where an order is in its life. `pending` waits for payment (payment itself is external).
public enum OrderStatus: String, Sendable, Codable, CaseIterable {
    case pending, paid, shipped, delivered, canceled, expired
}

/// What can happen to an order after it is placed. `rules` is the one table of allowed
/// transitions: anything not in it is refused (409 `illegal_transition`).
public enum OrderTransition: String, Sendable, CaseIterable {
    case pay, ship, deliver, cancel, expire

    public struct Rule: Sendable {
        public var from: Set<OrderStatus>
        public var to: OrderStatus
        public var event: OrderEventType
        /// The order's stock goes back to the shelf (a movement per line).
        public var releasesStock: Bool
        /// Who may ask: the shop (API token), the customer who owns the order, or the sweeper.
        public var by: Actor
    }

    public enum Actor: String, Sendable { case shop, owner, system }

    public static let rules: [OrderTransition: Rule] = [
        .pay: Rule(from: [.pending], to: .paid, event: .paid, releasesStock: false, by: .shop),
        .ship: Rule(from: [.paid], to: .shipped, event: .shipped, releasesStock: false, by: .shop),
        .deliver: Rule(from: [.shipped], to: .delivered, event: .delivered, releasesStock: false, by: .shop),
        .cancel: Rule(from: [.pending, .paid], to: .canceled, event: .canceled, releasesStock: true, by: .owner),
        .expire: Rule(from: [.pending], to: .expired, event: .expired, releasesStock: true, by: .system),
    ]

    public var rule: Rule { Self.rules[self]! }

    public var pastTense: String {
        switch self {
        case .pay: return "paid"
        case .ship: return "shipped"
        case .deliver: return "delivered"
        case .cancel: return "canceled"
        case .expire: return "expired"
        }
    }
}

public enum OrderEventType: String, Sendable, Codable, CaseIterable {
    case placed = "OrderPlaced", paid = "OrderPaid", shipped = "OrderShipped", delivered = "OrderDelivered"
    case canceled = "OrderCanceled", expired = "OrderExpired"
}

/// One line of an order: what was bought, with the product as it was when the order was placed.
public struct OrderLine: Sendable, Equatable, Codable {
    public var productId: String
    public var title: String
    public var brand: String?
    public var unitPrice: Money
    public var quantity: Int
    public var subtotal: Money

    enum CodingKeys: String, CodingKey { case productId = "product_id", title, brand, unitPrice = "unit_price", quantity, subtotal }
}

extension Money: Codable {
    /// Money is stored as its decimal text (`"19.99"`), never as a binary number.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let m = Money(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a decimal amount: \(text.prefix(40))"))
        }
        self = m
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(formatted(minScale: 0))
    }
}

/// The data of each event type, as stored in `order_events.data` (JSON, the storage edge).
public enum OrderEventData: Sendable, Equatable {
    public struct Placed: Sendable, Equatable, Codable {
        public var customerId: Int64
        public var currency: String
        public var total: Money
        public var lines: [OrderLine]
        public var shippingAddress: ShippingAddress
        public var paymentMethodId: String
        public var expiresAt: Date

        enum CodingKeys: String, CodingKey {
            case customerId = "customer_id", currency, total, lines, shippingAddress = "shipping_address"
            case paymentMethodId = "payment_method_id", expiresAt = "expires_at"
        }
    }

    /// Details of a later transition: a payment reference, a carrier and tracking number, a reason.
    public struct Change: Sendable, Equatable, Codable {
        public var reference: String?
        public var carrier: String?
        public var tracking: String?
        public var reason: String?
        public init(reference: String? = nil, carrier: String? = nil, tracking: String? = nil, reason: String? = nil) {
            self.reference = reference
            self.carrier = carrier
            self.tracking = tracking
            self.reason = reason
        }
    }

    case placed(Placed)
    case change(Change)

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .secondsSince1970   // exact: the replayed event equals the one written
        e.outputFormatting = [.sortedKeys]
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        return d
    }()

    func json() throws -> String {
        let data: Data
        switch self {
        case .placed(let p): data = try Self.encoder.encode(p)
        case .change(let c): data = try Self.encoder.encode(c)
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ type: OrderEventType, json: String) throws -> OrderEventData {
        do {
            if type == .placed { return .placed(try decoder.decode(Placed.self, from: Data(json.utf8))) }
            return .change(try decoder.decode(Change.self, from: Data(json.utf8)))
        } catch {
            throw CommerceError.internalError("order store: an \(type.rawValue) event has unreadable data: \(error)")
        }
    }
}

/// One stored event of an order's stream.
public struct OrderEvent: Sendable, Equatable {
    public var orderId: Int64
    public var version: Int
    public var type: OrderEventType
    public var data: OrderEventData
    public var occurredAt: Date
    /// `customer:<id>`, `shop` (API token) or `system:expiry`.
    public var actor: String
}

/// An order as its events say it is (`Order.fold`).
public struct Order: Sendable, Equatable {
    public var id: Int64
    public var customerId: Int64
    public var status: OrderStatus
    public var version: Int
    public var currency: String
    public var total: Money
    public var lines: [OrderLine]
    public var shippingAddress: ShippingAddress
    public var paymentMethodId: String
    public var placedAt: Date
    public var expiresAt: Date
    public var updatedAt: Date
    public var paymentReference: String?
    public var carrier: String?
    public var tracking: String?
    public var cancelReason: String?

    public var itemCount: Int { lines.reduce(0) { $0 + $1.quantity } }

    /// The state after `events` (in version order). nil when there is no `OrderPlaced` first.
    /// A gap or a repeat in the versions is corrupt history and an error.
    public static func fold(_ events: [OrderEvent]) throws -> Order? {
        guard let first = events.first else { return nil }
        guard first.version == 1, first.type == .placed, case .placed(let p) = first.data else {
            throw CommerceError.internalError("order \(first.orderId): its history does not start with OrderPlaced version 1")
        }
        var o = Order(id: first.orderId, customerId: p.customerId, status: .pending, version: 1, currency: p.currency, total: p.total,
                      lines: p.lines, shippingAddress: p.shippingAddress, paymentMethodId: p.paymentMethodId, placedAt: first.occurredAt,
                      expiresAt: p.expiresAt, updatedAt: first.occurredAt)
        for e in events.dropFirst() {
            guard e.version == o.version + 1 else {
                throw CommerceError.internalError("order \(o.id): event version \(e.version) follows version \(o.version)")
            }
            try o.apply(e)
        }
        return o
    }

    /// Applies one later event; an event the transition table does not allow is corrupt history.
    mutating func apply(_ e: OrderEvent) throws {
        guard let t = OrderTransition.allCases.first(where: { $0.rule.event == e.type }), t.rule.from.contains(status) else {
            throw CommerceError.internalError("order \(id): \(e.type.rawValue) at version \(e.version) cannot follow status \(status.rawValue)")
        }
        status = t.rule.to
        version = e.version
        updatedAt = e.occurredAt
        if case .change(let c) = e.data {
            switch t {
            case .pay: paymentReference = c.reference
            case .ship: carrier = c.carrier; tracking = c.tracking
            case .cancel, .expire: cancelReason = c.reason
            case .deliver: break
            }
        }
    }
}

/// One row of the customer's order history (the read model `order_summaries`).
public struct OrderSummary: Sendable, Equatable {
    public var orderId: Int64
    public var customerId: Int64
    public var status: OrderStatus
    public var version: Int
    public var currency: String
    public var total: Money
    public var itemCount: Int
    public var lineCount: Int
    public var firstTitle: String
    public var placedAt: Date
    public var updatedAt: Date
}

/// What a buyer sends to place an order.
public struct OrderRequest: Sendable, Equatable {
    public var shippingAddress: ShippingAddress
    public var paymentMethodId: String
    public var expectedTotal: Money
    public var idempotencyKey: String

    public init(shippingAddress: ShippingAddress, paymentMethodId: String, expectedTotal: Money, idempotencyKey: String) {
        self.shippingAddress = shippingAddress
        self.paymentMethodId = paymentMethodId
        self.expectedTotal = expectedTotal
        self.idempotencyKey = idempotencyKey
    }

    /// A digest of the body (not the key): the same key with another body is refused.
    var fingerprint: String {
        let a = shippingAddress
        let parts = [a.name ?? "\u{0}", a.line1, a.line2 ?? "\u{0}", a.city, a.region ?? "\u{0}", a.postalCode, a.country,
                     paymentMethodId, expectedTotal.canonical]
        return SHA256.hex(parts.map { "\($0.utf8.count):\($0)" }.joined(separator: "|"))
    }
}
