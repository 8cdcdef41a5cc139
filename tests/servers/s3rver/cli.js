// cli.js: command-line launcher for @20minutes/s3rver, whose package has no bin script (run by tests/servers/s3.sh with NODE_PATH set to the cached node_modules).
require('@20minutes/s3rver/lib/cli.js').parseAsync(process.argv);
