import ArgumentParser
@main struct Aisle: ParsableCommand { func run() throws {} }
