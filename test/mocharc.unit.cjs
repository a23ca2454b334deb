module.exports = {
  spec: ['out/test/unit/**/*.test.js'],
  reporter: require('path').join(__dirname, 'support/summaryReporter.js'),
  reporterOption: ['label=unit'],
  timeout: 20000,
};
