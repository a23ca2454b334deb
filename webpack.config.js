// Bundles the extension, the worker that runs user code and the CLI into dist/, with the QuickJS
// wasm beside them. Everything from node_modules is bundled, so the .vsix ships no node_modules.
'use strict';
const path = require('path');
const webpack = require('webpack');
const CopyPlugin = require('copy-webpack-plugin');
const pkg = require('./package.json');

/** @type {import('webpack').Configuration} */
module.exports = (_env, argv) => ({
  target: 'node20',
  mode: argv.mode || 'production',
  entry: {
    extension: './src/vscode/extension.ts',
    functionWorker: './src/executor/functionWorker.ts',
    v8Runner: './src/executor/v8Runner.ts',
    cli: './src/cli/bin.ts',
  },
  output: {
    path: path.resolve(__dirname, 'dist'),
    filename: '[name].js',
    library: { type: 'commonjs2' },
    clean: true,
  },
  externals: { vscode: 'commonjs vscode' },
  resolve: {
    extensions: ['.ts', '.js'],
    mainFields: ['module', 'main'],
    // The CommonJS build embeds @wasmer/wasi's own wasm; the ESM one points at a file not shipped.
    alias: { '@wasmer/wasi$': path.resolve(__dirname, 'node_modules/@wasmer/wasi/dist/Library.cjs.min.js') },
  },
  module: {
    // QuickJS's loader points at its wasm with new URL(...); we pass the bytes ourselves
    // (dist/quickjs.wasm), so webpack must not emit a second copy.
    parser: { javascript: { url: false } },
    rules: [{ test: /\.ts$/, exclude: /node_modules/, use: [{ loader: 'ts-loader', options: { configFile: 'tsconfig.build.json' } }] }],
  },
  node: { __dirname: false, __filename: false },
  devtool: 'nosources-source-map',
  performance: { hints: false },
  // Minified in production builds: half the size of the .vsix's JavaScript, and less to read and
  // parse when the extension loads (about 30 ms of the bundle's load). Function and class names are
  // kept, so the extension's own stack traces (its log's "… failed:" lines) still read, and
  // dist/*.map maps them to the sources (node --enable-source-maps, the extension's debugger).
  // Third-party license comments go to dist/*.LICENSE.txt, shipped beside the bundles.
  optimization: { minimizeOptions: { javascript: { compress: { passes: 2 }, keep_classnames: true, keep_fnames: true } } },
  plugins: [
    // One file per entry: no lazily loaded chunks to go missing from the package.
    new webpack.optimize.LimitChunkCountPlugin({ maxChunks: 1 }),
    new webpack.DefinePlugin({ NEX_FUNCTIONS_VERSION: JSON.stringify(pkg.version) }),
    new webpack.BannerPlugin({ banner: '#!/usr/bin/env node', raw: true, entryOnly: true, include: /^cli\.js$/ }),
    new CopyPlugin({
      patterns: [
        { from: require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm'), to: 'quickjs.wasm' },
        // Icons for the webview panel, served from media/ (its only resource root).
        { from: path.join(path.dirname(require.resolve('@vscode/codicons/package.json')), 'dist', 'codicon.css'), to: '../media/codicons/codicon.css' },
        { from: path.join(path.dirname(require.resolve('@vscode/codicons/package.json')), 'dist', 'codicon.ttf'), to: '../media/codicons/codicon.ttf' },
      ],
    }),
  ],
  stats: 'errors-warnings',
});
