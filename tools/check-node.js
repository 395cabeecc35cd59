// Run first by `npm start` and `npm test`: the repo's TypeScript runs on
// Node's default type stripping (22.18+). On an older Node the first .ts file
// fails with a syntax error that names nothing useful, so say it here instead.
// Plain JavaScript on purpose, so that any old Node can run it.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `outlast needs Node >= 22.18 (this is ${process.version}); on Termux: pkg install nodejs\n` +
      '(On linux-x64, npm ci installs Node 24 for the npm scripts unless optional dependencies are omitted.)\n',
  );
  process.exit(1);
}
