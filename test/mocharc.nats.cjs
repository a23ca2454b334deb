module.exports = {
  spec: ['out/test/nats/**/*.test.js'],
  reporter: require('path').join(__dirname, 'support/summaryReporter.js'),
  reporterOption: ['label=nats'],
  timeout: 30000,
};
