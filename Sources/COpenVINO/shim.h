// OpenVINO's C API. The headers and library come from .deps/openvino (scripts/setup);
// Package.swift passes their paths and an rpath to the library folder.
#pragma once
#include <openvino/c/openvino.h>
