import CMosquitto
import Foundation
import ServiceFiles

/// libmosquitto, every C call in one place: a client that connects in the background
/// on libmosquitto's own network thread (reconnecting with back-off, 1 s doubling to
/// 30 s), its callbacks handed to Swift closures, its errors as `MQTTError`s.
final class MosquittoClient: @unchecked Sendable {
    struct MQTTError: Error, CustomStringConvertible {
        let description: String
    }

    /// Called on libmosquitto's thread: a connection's answer (0: accepted), a lost
    /// connection (0: asked for), a message handed over (QoS 0) or acknowledged (QoS 1).
    var onConnect: (@Sendable (_ code: Int32, _ reason: String) -> Void)?
    var onDisconnect: (@Sendable (_ code: Int32, _ reason: String) -> Void)?
    var onPublish: (@Sendable (_ mid: Int32) -> Void)?
    /// libmosquitto's own error messages: the only word on a failure that ends no
    /// connection, such as a TLS handshake refused.
    var onError: (@Sendable (_ message: String) -> Void)?

    private let handle: OpaquePointer
    private let config: ServiceConfig.MQTTConfig

    private static let library: Void = { mosquitto_lib_init() }()

    init(_ config: ServiceConfig.MQTTConfig, willTopic: String) throws {
        _ = Self.library
        self.config = config
        guard let handle = mosquitto_new(config.clientId, true, nil) else {
            throw MQTTError(description: "cannot make an MQTT client: \(String(cString: strerror(errno)))")
        }
        self.handle = handle
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, Int32(config.protocolVersion)), "protocol")
        let offline = Array("offline".utf8)
        try check(mosquitto_will_set(handle, willTopic, Int32(offline.count), offline, 1, true), "last will")
        if config.username != nil || config.password != nil {
            try check(mosquitto_username_pw_set(handle, config.username, config.password), "username")
        }
        if config.tls {
            // Without a CA file, the system's CAs.
            let capath = config.caFile == nil ? "/etc/ssl/certs" : nil
            try check(mosquitto_tls_set(handle, config.caFile, capath, config.certFile, config.keyFile, nil), "tls")
        }
        mosquitto_reconnect_delay_set(handle, 1, 30, true)
        mosquitto_connect_callback_set(handle) { _, user, code in
            guard let user else { return }
            let client = Unmanaged<MosquittoClient>.fromOpaque(user).takeUnretainedValue()
            client.onConnect?(code, String(cString: mosquitto_connack_string(code)))
        }
        mosquitto_disconnect_callback_set(handle) { _, user, code in
            guard let user else { return }
            let client = Unmanaged<MosquittoClient>.fromOpaque(user).takeUnretainedValue()
            client.onDisconnect?(code, String(cString: mosquitto_strerror(code)))
        }
        mosquitto_log_callback_set(handle) { _, user, level, message in
            guard let user, let message, level & Int32(MOSQ_LOG_ERR) != 0 else { return }
            Unmanaged<MosquittoClient>.fromOpaque(user).takeUnretainedValue().onError?(String(cString: message))
        }
        mosquitto_publish_callback_set(handle) { _, user, mid in
            guard let user else { return }
            Unmanaged<MosquittoClient>.fromOpaque(user).takeUnretainedValue().onPublish?(mid)
        }
    }

    deinit { mosquitto_destroy(handle) }

    private func check(_ code: Int32, _ what: String) throws {
        guard code == MOSQ_ERR_SUCCESS.rawValue else {
            let reason =
                code == MOSQ_ERR_ERRNO.rawValue ? String(cString: strerror(errno)) : String(cString: mosquitto_strerror(code))
            throw MQTTError(description: "\(what): \(reason)")
        }
    }

    /// Starts connecting, and keeps the connection up, on libmosquitto's thread. A
    /// first attempt that fails at once (an unreachable host) is retried there too.
    func start() throws {
        let first = mosquitto_connect_async(handle, config.host, Int32(config.port), Int32(config.keepaliveSeconds))
        if first != MOSQ_ERR_SUCCESS.rawValue {
            let reason =
                first == MOSQ_ERR_ERRNO.rawValue ? String(cString: strerror(errno)) : String(cString: mosquitto_strerror(first))
            onDisconnect?(first, reason)
        }
        try check(mosquitto_loop_start(handle), "network thread")
    }

    /// Queues a message; returns its message id (acknowledged through `onPublish`).
    func publish(_ topic: String, _ payload: Data, qos: Int, retain: Bool) throws -> Int32 {
        var mid: Int32 = 0
        let code = payload.withUnsafeBytes { bytes in
            mosquitto_publish(handle, &mid, topic, Int32(bytes.count), bytes.baseAddress, Int32(qos), retain)
        }
        try check(code, "publish")
        return mid
    }

    /// Disconnects (no last will: the caller says `offline` itself) and stops the thread.
    func stop() {
        mosquitto_disconnect(handle)
        mosquitto_loop_stop(handle, false)
    }
}
