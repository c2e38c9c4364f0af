import NIOCore
import NIOHTTPTypes
import Synchronization

/// Connection limits of the HTTP server.
public struct ConnectionLimits: Sendable, Equatable {
    /// Open connections at most; a connection past it is closed at once.
    public var maxConnections = 512
    /// A connection with no request in progress (idle keep-alive, or headers that never finish
    /// arriving: slow-header clients) is closed after this many seconds.
    public var idleTimeout = 15.0
    /// A request's body must arrive within this many seconds of its head (slow-body clients).
    public var readTimeout = 10.0
    public init() {}
}

/// Counts open connections across the server.
final class ConnectionCounter: Sendable {
    let open = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let timedOut = Atomic<Int>(0)
}

/// A channel handler after HTTP decoding that enforces `ConnectionLimits`: the connection cap, the
/// idle timeout (no request in progress, including a request whose head has not arrived in full)
/// and the read timeout (the body of a request that has begun). While a response is being prepared
/// no timer runs: the search deadline bounds that.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let limits: ConnectionLimits
    let counter: ConnectionCounter
    private var counted = false
    private var timer: Scheduled<Void>?
    /// Requests whose head arrived and whose response has not ended.
    private var inFlight = 0
    private var readingBody = false

    init(limits: ConnectionLimits, counter: ConnectionCounter) {
        self.limits = limits
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let n = counter.open.add(1, ordering: .relaxed).newValue
        counted = true
        if n > limits.maxConnections {
            counter.refused.add(1, ordering: .relaxed)
            context.close(promise: nil)
            return
        }
        arm(context, seconds: limits.idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        release()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        release()
        context.fireChannelInactive()
    }

    private func release() {
        if counted {
            counted = false
            counter.open.subtract(1, ordering: .relaxed)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inFlight += 1
            readingBody = true
            arm(context, seconds: limits.readTimeout)
        case .body:
            break
        case .end:
            readingBody = false
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inFlight = max(0, inFlight - 1)
            if inFlight == 0 && !readingBody { arm(context, seconds: limits.idleTimeout) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, seconds: Double) {
        disarm()
        guard seconds > 0, seconds.isFinite else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let counter = self.counter
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(min(seconds, 86_400) * 1e9))) {
            counter.timedOut.add(1, ordering: .relaxed)
            loopBound.value.close(promise: nil)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
