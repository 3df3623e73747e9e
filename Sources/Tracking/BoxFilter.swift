import Geometry

/// A constant-velocity Kalman filter over a box's centre and size.
///
/// State: (cx, cy, w, h) and their velocities in pixels per second. With diagonal
/// process and measurement noise, as here, the four coordinates never mix: the
/// 8×8 filter splits exactly into four independent 2×2 filters (position,
/// velocity), which is what is stored. Noise scales with the box (a tall person
/// moves more pixels than a small one), as in DeepSORT / BoT-SORT, and with the
/// time since the last step, so dropped frames and variable frame rates keep the
/// motion model honest.

public struct BoxFilter: Sendable, Equatable {
    /// One coordinate: position p, velocity v, covariance [[pp, pv], [pv, vv]].
    struct Axis: Sendable, Equatable {
        var p: Double
        var v: Double = 0
        var pp: Double
        var pv: Double = 0
        var vv: Double

        mutating func predict(dt: Double, positionNoise: Double, velocityNoise: Double) {
            p += v * dt
            pp += 2 * dt * pv + dt * dt * vv + positionNoise
            pv += dt * vv
            vv += velocityNoise
        }

        mutating func update(_ z: Double, noise: Double) {
            let s = pp + noise
            let kp = pp / s
            let kv = pv / s
            let innovation = z - p
            p += kp * innovation
            v += kv * innovation
            vv -= kv * pv
            pv *= 1 - kp
            pp *= 1 - kp
        }
    }

    public struct Noise: Sendable, Equatable, Codable {
        /// Position standard deviation per step, as a fraction of the box size.
        public var position: Double = 1.0 / 20
        /// Velocity standard deviation per step, as a fraction of the box size.
        public var velocity: Double = 1.0 / 160
        /// The step the fractions refer to, in seconds; longer gaps add
        /// proportionally more process noise.
        public var step: Double = 1.0 / 30

        public init() {}
    }

    // Four named axes, not an array: a filter is copied for every snapshot and
    // must stay free of heap allocations.
    var cx, cy, w, h: Axis
    public let noise: Noise

    public init(_ box: Box, noise: Noise = Noise()) {
        self.noise = noise
        func axis(_ value: Double, _ scale: Double) -> Axis {
            Axis(
                p: value, pp: Self.square(2 * noise.position * scale),
                vv: Self.square(10 * noise.velocity * scale / noise.step))
        }
        cx = axis(box.centerX, box.width)
        cy = axis(box.centerY, box.height)
        w = axis(box.width, box.width)
        h = axis(box.height, box.height)
    }

    private static func square(_ x: Double) -> Double { x * x }

    /// The filter's current box.
    public var box: Box {
        Box(centerX: cx.p, centerY: cy.p, width: max(w.p, 1e-3), height: max(h.p, 1e-3))
    }

    /// Velocity of the centre in pixels per second.
    public var velocity: (x: Double, y: Double) { (cx.v, cy.v) }

    /// Moves the state `dt` seconds ahead.
    public mutating func predict(dt: Double) {
        guard dt > 0 else { return }
        let steps = dt / noise.step
        let width = max(w.p, 1)
        let height = max(h.p, 1)
        func q(_ scale: Double) -> (Double, Double) {
            (Self.square(noise.position * scale) * steps, Self.square(noise.velocity * scale / noise.step) * steps)
        }
        let (qpw, qvw) = q(width)
        let (qph, qvh) = q(height)
        cx.predict(dt: dt, positionNoise: qpw, velocityNoise: qvw)
        cy.predict(dt: dt, positionNoise: qph, velocityNoise: qvh)
        w.predict(dt: dt, positionNoise: qpw, velocityNoise: qvw)
        h.predict(dt: dt, positionNoise: qph, velocityNoise: qvh)
        // A box cannot shrink below nothing: stop a collapsing size.
        if w.p < 1 {
            w.p = 1
            w.v = max(w.v, 0)
        }
        if h.p < 1 {
            h.p = 1
            h.v = max(h.v, 0)
        }
    }

    /// Stops the size from changing while nothing is observed: a size trend
    /// extrapolated through an occlusion mostly grows boxes that no longer match.
    public mutating func freezeSize() {
        w.v = 0
        h.v = 0
    }

    /// Moves the centre by (dx, dy) pixels; velocities and uncertainty stay.
    public mutating func shift(dx: Double, dy: Double) {
        cx.p += dx
        cy.p += dy
    }

    /// Corrects the position alone with an observed centre (a visual predictor's: it
    /// says where the object is, not how large).
    public mutating func update(centerX: Double, centerY: Double) {
        cx.update(centerX, noise: Self.square(noise.position * max(w.p, 1)))
        cy.update(centerY, noise: Self.square(noise.position * max(h.p, 1)))
    }

    /// Corrects the state with an observed box.
    public mutating func update(_ observed: Box) {
        let rw = Self.square(noise.position * max(observed.width, 1))
        let rh = Self.square(noise.position * max(observed.height, 1))
        cx.update(observed.centerX, noise: rw)
        cy.update(observed.centerY, noise: rh)
        w.update(observed.width, noise: rw)
        h.update(observed.height, noise: rh)
    }
}

extension BoxFilter.Noise {
    enum CodingKeys: String, CodingKey, CaseIterable { case position, velocity, step }

    public init(from decoder: any Decoder) throws {
        self.init()
        try TrackerConfig.rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.stringValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        position = try c.decodeIfPresent(Double.self, forKey: .position) ?? position
        velocity = try c.decodeIfPresent(Double.self, forKey: .velocity) ?? velocity
        step = try c.decodeIfPresent(Double.self, forKey: .step) ?? step
        if step <= 0 {
            throw DecodingError.dataCorruptedError(forKey: .step, in: c, debugDescription: "must be positive")
        }
    }
}
