import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose client sends too slowly: a request head not complete within
/// `headTimeout` of the connection opening (or of the previous response), or a request body not
/// complete within `bodyTimeout` of its head. Slow senders (slowloris) would otherwise hold
/// connections, and with a trickled body one of the hub's request slots, for as long as they
/// keep sending a byte now and then: Hummingbird's idle timeout restarts at every byte.
///
/// It sits after the HTTP decoder, so a head trickled byte by byte is not seen until complete and
/// cannot put its deadline back. An upload cut off this way stays resumable (docs/upload-protocol.md).
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// Between a request's head and its end.
    private var receiving = false
    /// The current request's response has been sent (possibly before its body was read, as a refusal is).
    private var answered = false

    init(headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(headTimeout, context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(headTimeout, context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            receiving = true
            answered = false
            arm(bodyTimeout, context: context)
        case .body:
            break
        case .end:
            receiving = false
            // Answered early (a refusal before the body was read): the next head is awaited now.
            if answered { arm(headTimeout, context: context) } else { disarm() }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            answered = true
            // While the body still arrives, its deadline stands.
            if !receiving { arm(headTimeout, context: context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        disarm()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { context.close(promise: nil) }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
