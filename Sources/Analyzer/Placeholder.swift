enum AnalyzerPlaceholder {}
