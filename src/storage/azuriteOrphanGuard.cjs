// Preloaded into the Azurite child: when the parent goes away (even by SIGKILL), its IPC channel closes and
// Azurite exits too, so no orphan keeps the port or the data folder.
process.on('disconnect', () => process.exit(0));
