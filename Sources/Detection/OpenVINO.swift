internal import COpenVINO
import Foundation

/// Every call into OpenVINO's C API lives in this file: each object has one owner
/// that frees it, and every status code becomes a `DetectorError`.

/// Element types trackd feeds and reads.
enum ElementType: Sendable, Equatable, CustomStringConvertible {
    case u8, f16, f32
    case other(String)

    fileprivate init(_ type: ov_element_type_e) {
        switch type {
        case U8: self = .u8
        case F16: self = .f16
        case F32: self = .f32
        default: self = .other("type \(type.rawValue)")
        }
    }

    fileprivate var raw: ov_element_type_e? {
        switch self {
        case .u8: U8
        case .f16: F16
        case .f32: F32
        case .other: nil
        }
    }

    var description: String {
        switch self {
        case .u8: "u8"
        case .f16: "f16"
        case .f32: "f32"
        case .other(let s): s
        }
    }
}

/// A model input or output as the model declares it; nil marks a dynamic dimension.
struct PortInfo: Sendable, Equatable {
    var name: String
    var shape: [Int?]
    var elementType: ElementType
}

/// Turns a status into an error carrying OpenVINO's own message.
private func check(_ status: ov_status_e, _ operation: @autoclosure () -> String) throws {
    guard status != OK else { return }
    throw DetectorError.runtime(operation: operation(), message: lastErrorMessage(status))
}

private func lastErrorMessage(_ status: ov_status_e) -> String {
    var message = ov_get_last_err_msg().map { String(cString: $0) } ?? ""
    // One line, without the C++ source locations OpenVINO prefixes.
    message = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }.joined(separator: " ")
        .replacingOccurrences(of: #"Exception from \S+:\d+:\s*"#, with: "", options: .regularExpression)
    let info = ov_get_error_info(status).map { String(cString: $0) } ?? "status \(status.rawValue)"
    return message.isEmpty ? info : message
}

/// Frees OpenVINO objects one at a time, process-wide. Using them from several threads
/// is safe, but a daemon that stops frees many at once (each stream's inference request
/// on the stream's own thread), and `trackd serve` has aborted at exit on a heap
/// damaged around such frees. Frees are rare and take microseconds.
private let freeing = NSLock()

private func freedAlone(_ free: () -> Void) { freeing.withLock(free) }

/// OpenVINO's entry point; one per process is enough, and it is thread-safe.
final class InferenceCore: @unchecked Sendable {
    private let handle: OpaquePointer

    init() throws {
        var core: OpaquePointer?
        try check(ov_core_create(&core), "create the OpenVINO core")
        handle = core!
    }

    deinit { freedAlone { ov_core_free(handle) } }

    /// Reads an ONNX file, a TensorFlow frozen graph or OpenVINO IR (the front ends
    /// trackd ships: scripts/openvino-runtime).
    /// Front ends that fail to parse a file log to stderr on their own (TensorFlow's
    /// protobuf through absl); the error returned says it all, so they are `silenced`
    /// where that is safe (see `FrontEndMessages`).
    func readModel(_ path: String, silenced: Bool) throws -> InferenceModel {
        var model: OpaquePointer?
        let read = { ov_core_read_model(self.handle, path, nil, &model) }
        let status = silenced ? withStandardErrorSilenced(read) : read()
        guard status == OK, let model else {
            throw DetectorError.unreadableModel(path: path, message: lastErrorMessage(status))
        }
        return InferenceModel(model)
    }

    /// Compiles for the CPU. One request at a time (`concurrency` 1) is tuned for
    /// latency: every core on each frame. Several at once take the throughput hint,
    /// which splits the cores into CPU streams that run requests side by side.
    func compile(_ model: InferenceModel, for options: DetectorOptions) throws -> CompiledModel {
        var properties: [(String, String)] =
            options.concurrency > 1
            ? [("PERFORMANCE_HINT", "THROUGHPUT"), ("PERFORMANCE_HINT_NUM_REQUESTS", String(options.concurrency))]
            : [("PERFORMANCE_HINT", "LATENCY")]
        properties.append(("INFERENCE_NUM_THREADS", String(max(options.threads, 0))))
        if options.precision != .auto { properties.append(("INFERENCE_PRECISION_HINT", options.precision.rawValue)) }
        // The C API takes keys and values as C strings that must outlive the call.
        let strings = properties.flatMap { [strdup($0.0)!, strdup($0.1)!] }
        defer { for s in strings { free(s) } }
        let pairs = (0..<properties.count).map {
            ov_property_t(key: UnsafePointer(strings[2 * $0]), value: UnsafeRawPointer(strings[2 * $0 + 1]))
        }
        var compiled: OpaquePointer?
        try pairs.withUnsafeBufferPointer { buffer in
            try check(
                ov_core_compile_model_props(handle, model.handle, "CPU", buffer.count, buffer.baseAddress, &compiled),
                "compile the model for the CPU")
        }
        return CompiledModel(compiled!, owner: model)
    }
}

/// Runs `body` with file descriptor 2 pointed at /dev/null. It silences the whole
/// process meanwhile, and two threads doing it at once can leave stderr on /dev/null
/// for good: only where no other thread writes to stderr or loads a model.
private func withStandardErrorSilenced<T>(_ body: () -> T) -> T {
    let saved = dup(STDERR_FILENO)
    let null = open("/dev/null", O_WRONLY)
    guard saved >= 0, null >= 0 else {
        if saved >= 0 { close(saved) }
        if null >= 0 { close(null) }
        return body()
    }
    dup2(null, STDERR_FILENO)
    close(null)
    defer {
        dup2(saved, STDERR_FILENO)
        close(saved)
    }
    return body()
}

final class InferenceModel: @unchecked Sendable {
    fileprivate let handle: OpaquePointer

    fileprivate init(_ handle: OpaquePointer) { self.handle = handle }

    deinit { freedAlone { ov_model_free(handle) } }

    var inputs: [PortInfo] { get throws { try ports(count: ov_model_inputs_size, port: ov_model_const_input_by_index) } }
    var outputs: [PortInfo] { get throws { try ports(count: ov_model_outputs_size, port: ov_model_const_output_by_index) } }

    private func ports(
        count: (OpaquePointer?, UnsafeMutablePointer<Int>?) -> ov_status_e,
        port: (OpaquePointer?, Int, UnsafeMutablePointer<OpaquePointer?>?) -> ov_status_e
    ) throws -> [PortInfo] {
        var n = 0
        try check(count(handle, &n), "count the model's ports")
        return try (0..<n).map { index in
            var p: OpaquePointer?
            try check(port(handle, index, &p), "read port \(index)")
            defer { ov_output_const_port_free(p) }
            return try Self.describe(p)
        }
    }

    private static func describe(_ port: OpaquePointer?) throws -> PortInfo {
        var name: UnsafeMutablePointer<CChar>?
        let named = ov_port_get_any_name(port, &name) == OK
        defer { if let name { ov_free(name) } }
        var shape = ov_partial_shape_t()
        try check(ov_port_get_partial_shape(port, &shape), "read a port's shape")
        defer { ov_partial_shape_free(&shape) }
        var dims: [Int?] = []
        if !ov_rank_is_dynamic(shape.rank) {
            for i in 0..<Int(shape.rank.max) {
                let d = shape.dims[i]
                dims.append(d.min == d.max && d.min >= 0 ? Int(d.min) : nil)
            }
        }
        var type = ov_element_type_e(0)
        try check(ov_port_get_element_type(port, &type), "read a port's element type")
        return PortInfo(name: named && name != nil ? String(cString: name!) : "", shape: dims, elementType: ElementType(type))
    }

    /// Whether any output carries the tensor name `name`.
    func hasOutput(named name: String) -> Bool {
        var port: OpaquePointer?
        guard ov_model_const_output_by_name(handle, name, &port) == OK, port != nil else { return false }
        ov_output_const_port_free(port)
        return true
    }

    /// Fixes the shape of the model's only input (a dynamic model becomes static).
    func reshapeInput(_ dims: [Int]) throws {
        var shape = ov_partial_shape_t()
        try check(ov_partial_shape_create_static(Int64(dims.count), dims.map(Int64.init), &shape), "make a shape")
        defer { ov_partial_shape_free(&shape) }
        try check(ov_model_reshape_single_input(handle, shape), "reshape the model's input to \(dims)")
    }
}

/// A model compiled for the input shapes asked for last, shared by the detectors on
/// one model: reshaping changes the model itself, so it and compiling are done under
/// a lock.
final class Compilations: @unchecked Sendable {
    private let core: InferenceCore
    private let model: InferenceModel
    private let options: DetectorOptions
    /// Shapes kept compiled (a daemon's sources seldom have more than a few).
    private let kept: Int
    private let lock = NSLock()
    private var recent: [(shape: [Int], compiled: CompiledModel)] = []

    init(core: InferenceCore, model: InferenceModel, options: DetectorOptions, kept: Int) {
        (self.core, self.model, self.options, self.kept) = (core, model, options, kept)
    }

    /// The model compiled for an input of `shape`, reshaped to it first unless it is
    /// the model's own (a fixed export need not reshape to its own shape).
    func compiled(_ shape: [Int]) throws -> CompiledModel {
        try lock.withLock {
            if let i = recent.firstIndex(where: { $0.shape == shape }) {
                recent.insert(recent.remove(at: i), at: 0)
                return recent[0].compiled
            }
            if recent.count >= kept { recent.removeLast() }
            if try model.inputs.first?.shape != shape.map(Optional.some) { try model.reshapeInput(shape) }
            let compiled = try core.compile(model, for: options)
            recent.insert((shape, compiled), at: 0)
            return compiled
        }
    }
}

final class CompiledModel: @unchecked Sendable {
    fileprivate let handle: OpaquePointer
    // The model is kept alive as long as anything compiled from it.
    private let owner: InferenceModel

    fileprivate init(_ handle: OpaquePointer, owner: InferenceModel) {
        self.handle = handle
        self.owner = owner
    }

    deinit { freedAlone { ov_compiled_model_free(handle) } }

    func makeRequest() throws -> InferRequest {
        var request: OpaquePointer?
        try check(ov_compiled_model_create_infer_request(handle, &request), "create an inference request")
        return InferRequest(request!, owner: self)
    }
}

/// One inference request: write the input in place, run, read outputs. Not for use
/// from two threads at once.
final class InferRequest: @unchecked Sendable {
    private let handle: OpaquePointer
    private let owner: CompiledModel

    fileprivate init(_ handle: OpaquePointer, owner: CompiledModel) {
        self.handle = handle
        self.owner = owner
    }

    deinit { freedAlone { ov_infer_request_free(handle) } }

    /// Gives `body` the request's own input buffer (of `type` and `shape`) to fill,
    /// so no copy is made between the caller's preprocessing and the runtime.
    func withInput<T>(
        _ index: Int, type: ElementType, shape: [Int],
        _ body: (UnsafeMutableRawBufferPointer) throws -> T
    ) throws -> T {
        var tensor: OpaquePointer?
        try check(ov_infer_request_get_input_tensor_by_index(handle, index, &tensor), "get input \(index)")
        defer { ov_tensor_free(tensor) }
        var current = ov_shape_t()
        try check(ov_tensor_get_shape(tensor, &current), "read input \(index)'s shape")
        let same = (0..<Int(current.rank)).map { Int(current.dims[$0]) } == shape
        ov_shape_free(&current)
        if !same {
            var wanted = ov_shape_t()
            try check(ov_shape_create(Int64(shape.count), shape.map(Int64.init), &wanted), "make a shape")
            defer { ov_shape_free(&wanted) }
            try check(ov_tensor_set_shape(tensor, wanted), "set input \(index)'s shape to \(shape)")
        }
        var actual = ov_element_type_e(0)
        try check(ov_tensor_get_element_type(tensor, &actual), "read input \(index)'s type")
        guard ElementType(actual) == type else {
            throw DetectorError.runtime(
                operation: "fill input \(index)",
                message: "the model takes \(ElementType(actual)), trackd feeds \(type)")
        }
        var bytes = 0
        try check(ov_tensor_get_byte_size(tensor, &bytes), "size input \(index)")
        var data: UnsafeMutableRawPointer?
        try check(ov_tensor_data(tensor, &data), "map input \(index)")
        return try body(UnsafeMutableRawBufferPointer(start: data, count: bytes))
    }

    func infer() throws {
        try check(ov_infer_request_infer(handle), "run the model")
    }

    /// Gives `body` output `index` (by position) as floats, read in place from the
    /// request's own memory where it holds f32 (a YOLO output is over a megabyte a
    /// frame), converted where it holds f16. Valid only during `body`: the next
    /// inference overwrites it.
    func withOutput<T>(_ index: Int, _ body: (UnsafeBufferPointer<Float>) throws -> T) throws -> T {
        var tensor: OpaquePointer?
        try check(ov_infer_request_get_output_tensor_by_index(handle, index, &tensor), "get output \(index)")
        defer { ov_tensor_free(tensor) }
        let what = "output \(index)"
        var type = ov_element_type_e(0)
        try check(ov_tensor_get_element_type(tensor, &type), "read \(what)'s type")
        guard ElementType(type) == .f32 else {
            return try Tensor(copying: tensor, what: what).values.withUnsafeBufferPointer(body)
        }
        var count = 0
        try check(ov_tensor_get_size(tensor, &count), "size \(what)")
        var data: UnsafeMutableRawPointer?
        try check(ov_tensor_data(tensor, &data), "map \(what)")
        return try body(UnsafeBufferPointer(start: data?.assumingMemoryBound(to: Float.self), count: count))
    }

    /// A copy of the output tensor called `name`.
    func output(named name: String) throws -> Tensor {
        var tensor: OpaquePointer?
        try check(ov_infer_request_get_tensor(handle, name, &tensor), "get output \(name)")
        defer { ov_tensor_free(tensor) }
        return try Tensor(copying: tensor, what: "output \(name)")
    }
}

/// An output's values as floats, row-major, with its shape.
struct Tensor: Sendable {
    var shape: [Int]
    var values: [Float]

    fileprivate init(copying tensor: OpaquePointer?, what: String) throws {
        var s = ov_shape_t()
        try check(ov_tensor_get_shape(tensor, &s), "read \(what)'s shape")
        shape = (0..<Int(s.rank)).map { Int(s.dims[$0]) }
        ov_shape_free(&s)
        var type = ov_element_type_e(0)
        try check(ov_tensor_get_element_type(tensor, &type), "read \(what)'s type")
        var count = 0
        try check(ov_tensor_get_size(tensor, &count), "size \(what)")
        var data: UnsafeMutableRawPointer?
        try check(ov_tensor_data(tensor, &data), "map \(what)")
        switch ElementType(type) {
        case .f32:
            values = Array(UnsafeBufferPointer(start: data!.assumingMemoryBound(to: Float.self), count: count))
        case .f16:
            values = UnsafeBufferPointer(start: data!.assumingMemoryBound(to: Float16.self), count: count).map(Float.init)
        case let other:
            throw DetectorError.runtime(operation: "read \(what)", message: "unsupported output type \(other)")
        }
    }
}
