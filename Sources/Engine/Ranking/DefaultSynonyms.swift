/// The synonyms Aisle uses when no synonyms file is given: general home, garden and hardware
/// vocabulary written from domain knowledge (spelling variants, compounds written apart or
/// together, brand-like generic names). Equivalences only; nothing here maps a product type to a
/// different one. Replace them with `--synonyms FILE`, or turn them off with `--synonyms none` or
/// `"ranking": {"synonyms": false}`.
public enum DefaultSynonyms {
    public static let text = """
    # Aisle's built-in synonyms (Solr format). A file given with --synonyms replaces this list.
    fridge, refrigerator
    tv, television
    bbq, barbecue, barbeque
    couch, sofa
    drapes, curtains
    drape, curtain
    sheetrock, drywall
    lawnmower, lawn mower
    weedeater, weed eater, string trimmer
    weedwacker, weed wacker, weedwhacker, weed whacker, string trimmer
    commode, toilet
    ac, a/c, air conditioner
    lightbulb, light bulb
    lightbulbs, light bulbs
    wallpaper, wallcovering, wall covering
    stovetop, cooktop
    bathtub, bath tub
    showerhead, shower head
    sawzall, reciprocating saw
    skilsaw, circular saw
    caulk, sealant
    glue, adhesive
    gfi, gfci
    outlet, receptacle
    roach, cockroach
    trashcan, trash can, garbage can
    garbage, trash
    firepit, fire pit
    snowblower, snow blower, snow thrower
    leafblower, leaf blower
    aluminum, aluminium
    grey, gray
    colour, color
    nickle, nickel
    flourescent, fluorescent
    weatherstripping, weather stripping, weatherstrip
    doorknob, door knob
    deadbolt, dead bolt
    lightswitch, light switch
    countertop, counter top
    bookcase, bookshelf
    dishwasher, dish washer
    washing machine, washer
    microwave oven, microwave
    """
}
