package main

// version is set at build time (scripts/build-native.mjs passes -ldflags -X main.version=...)
// to the berth package version plus the first 12 hex of this source tree's hash, so the agent
// can tell whether a workspace already holds exactly this build.
var version = "dev"
