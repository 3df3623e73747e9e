// FFmpeg's headers, plus the values Swift cannot import from them: function-like
// macros (AVERROR, FFERRTAG, MKTAG) and the constants built from them.
#ifndef TRACKD_CFFMPEG_SHIM_H
#define TRACKD_CFFMPEG_SHIM_H

#include <errno.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

static inline int trackd_averror(int posix_errno) { return AVERROR(posix_errno); }
static inline int trackd_averror_eof(void) { return AVERROR_EOF; }
static inline int trackd_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int trackd_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int trackd_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int trackd_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int trackd_averror_demuxer_not_found(void) { return AVERROR_DEMUXER_NOT_FOUND; }
static inline int trackd_averror_protocol_not_found(void) { return AVERROR_PROTOCOL_NOT_FOUND; }
static inline int trackd_averror_exit(void) { return AVERROR_EXIT; }
static inline int64_t trackd_nopts_value(void) { return AV_NOPTS_VALUE; }

/// The counterclockwise rotation, in degrees, of a stream's display matrix (a phone's
/// portrait video is stored landscape with one); 0 without one. NaN for a matrix that
/// is not a rotation.
static inline double trackd_display_rotation(const AVStream *stream) {
    const uint8_t *matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    return matrix ? av_display_rotation_get((const int32_t *)matrix) : 0;
}

/// FFmpeg's last error-level message on the calling thread: an open that fails often
/// says why only there ("Picture size 16384x16384 is invalid"), its return code being
/// generic. Messages still reach stderr as the log level says.
/// (The slot lives in a function: Swift imports a header's functions, not its variables.)
static inline char *trackd_last_error(void) {
    static _Thread_local char slot[256];
    return slot;
}

static void trackd_log_callback(void *context, int level, const char *format, va_list arguments) {
    if (level <= AV_LOG_ERROR) {
        va_list copy;
        va_copy(copy, arguments);
        vsnprintf(trackd_last_error(), 256, format, copy);
        va_end(copy);
    }
    av_log_default_callback(context, level, format, arguments);
}

static inline void trackd_capture_errors(void) { av_log_set_callback(trackd_log_callback); }
static inline void trackd_clear_last_error(void) { trackd_last_error()[0] = 0; }

/// FFmpeg's message for an error code (what av_err2str gives in C).
static inline void trackd_strerror(int code, char *buffer, size_t size) {
    if (av_strerror(code, buffer, size) < 0) {
        snprintf(buffer, size, "error %d", code);
    }
}

#endif
