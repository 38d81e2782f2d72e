"""Words around names: titles, kin and greetings before a person, and the heads that end the name
of an organisation or a place ("... Dental", "... Hall"). Shared by the name recognisers.
"""

from __future__ import annotations

from sotto.privacy.phi_addresses import STREET_TYPES
from sotto.privacy.tokens import Token

#: Forms of address said before a name: a name found after one takes it along ("Mr. Reyes" goes whole,
#: so the placeholder does not keep the person's gender). "Miss" only with its capital, not "I miss Ana".
FORMAL_TITLES = {"dr", "doctor", "mr", "mister", "mrs", "missus", "ms", "miss", "mx", "professor", "prof"}

#: Words before a name that are not part of it ("Dr. [Pham]", "Father [Ramos]").
TITLES = {
    "dr", "doctor", "mr", "mister", "mrs", "missus", "ms", "miss", "mx", "professor", "prof", "father",
    "pastor", "reverend", "rev", "rabbi", "imam", "sister", "brother", "coach", "officer", "judge",
    "tita", "tito", "auntie", "aunty", "aunt", "uncle", "nurse", "lady", "sir", "madam", "deacon",
    "grandma", "grandpa", "nana", "cousin", "detective", "sergeant", "captain", "principal", "counselor",
}  # fmt: skip


#: People a client names right before or after the word for them ("my sponsor, Lorraine").
RELATIONS = {
    "wife", "husband", "partner", "girlfriend", "boyfriend", "fiance", "fiancee", "ex", "son", "daughter",
    "brother", "sister", "mother", "father", "mom", "dad", "mum", "friend", "roommate", "flatmate",
    "boss", "manager", "supervisor", "sponsor", "neighbor", "neighbour", "cousin", "nephew", "niece",
    "uncle", "aunt", "grandmother", "grandfather", "grandson", "granddaughter", "grandma", "grandpa",
    "stepdad", "stepmom", "stepson", "stepdaughter", "coworker", "colleague", "labmate", "classmate",
    "teacher", "therapist", "counselor", "lawyer", "attorney", "doctor", "advisor", "adviser", "coach",
    "pastor", "priest", "officer", "caseworker", "worker", "baby", "kid", "child", "kids", "children",
    "sons", "daughters", "brothers", "sisters", "twins", "twin", "buddy", "mate", "bestie", "in-law",
    "ex-husband", "ex-wife", "ex-boyfriend", "ex-girlfriend", "housemate", "landlord", "landlady", "pal",
}  # fmt: skip


#: Words after which a name is greeted or thanked ("Hi, Summer", "thank you, Dana").
GREETINGS = {
    "hi", "hello", "hey", "morning", "afternoon", "evening", "welcome", "thanks", "bye", "goodbye",
    "night", "cheers", "sorry", "congratulations", "congrats", "dear",
}  # fmt: skip


ORG_HEADS = {
    "electric", "electrical", "freight", "dental", "medicine", "medical", "clinic", "hospital", "school",
    "high", "middle", "elementary", "academy", "university", "college", "church", "fellowship",
    "ministries", "ministry", "center", "centre", "rehab", "construction", "brothers", "supply",
    "supplies", "market", "packaging", "analytics", "transit", "works", "care", "residence", "recovery",
    "foods", "bank", "insurance", "group", "partners", "llc", "inc", "co", "company", "corp",
    "corporation", "services", "solutions", "systems", "labs", "lab", "studio", "salon", "cafe", "café",
    "diner", "restaurant", "bakery", "gym", "fitness", "library", "foundation", "project", "agency",
    "department", "police", "club", "team", "united", "pharmacy", "motors", "logistics", "health",
    "healthcare", "associates", "institute", "industries", "consulting", "realty", "hotel", "inn",
    "grill", "kitchen", "store", "stores", "shop", "mart", "farms", "farm", "feed", "law", "legal",
    "press", "media", "tech", "technologies", "software", "enterprises", "holdings", "trust", "cancer",
    "fertility", "family", "community", "regional", "memorial", "general", "day", "county", "city",
    "mosque", "temple", "synagogue", "parish", "cathedral", "chapel", "prison", "jail", "penitentiary",
    "correctional", "facility", "home", "homes", "shelter", "council", "board", "office",
    "program", "programme", "house", "wellness", "behavioral", "counseling",
    "tavern", "pub", "lounge", "brewery", "bistro", "pizzeria", "garage", "barbershop",
    "accounting", "accountants", "accountancy", "roofing", "plumbing", "landscaping", "cleaning", "builders",
    "catering", "printing", "removals", "haulage", "couriers", "joinery", "carpentry", "decorating", "welding",
    "towing", "storage", "staffing", "recruitment", "veterinary", "vets", "optometry", "autos", "auto",
    "hardware", "lumber", "florist", "florists", "deli", "laundromat", "furniture", "appliances", "groceries",
    "engineering", "tabernacle", "assembly", "plant", "factory", "mill", "warehouse", "depot", "dealership",
    "poultry", "meats", "seafood", "dairy", "creamery", "roasters", "brewing", "distillery", "winery",
    "spa", "motel", "lodge", "casino", "cinema", "theater", "theatre", "nursery", "daycare", "boutique",
    "alliance", "coalition", "network", "society", "association", "collective", "cooperative", "pantry",
    "outreach", "dentistry", "pediatrics", "chiropractic", "imaging", "radiology", "diagnostics",
    "laboratories", "distributors", "manufacturing", "outfitters", "cleaners", "detailing",
    "lanes", "cellars", "records", "guild", "billing", "baptist", "lutheran", "methodist", "presbyterian",
    "pentecostal", "daughters", "union", "bookshop", "bookstore", "books", "imports", "wines", "vineyards",
    "primary", "print", "printers", "hotline", "helpline", "hospice", "architects", "architecture",
    "bakehouse", "surveying", "surveyors", "siding", "glazing", "movers", "electricians", "collegiate",
    "secondary", "espresso", "cantina", "grocers", "buses", "mining", "rovers", "harriers", "harlequins",
    "wanderers", "athletic", "physio", "physiotherapy", "upholstery", "timber", "aid", "surgery", "rehabilitation",
    "textiles", "surgical", "hospitality", "mutual", "bakeries", "taproom", "studios", "museum",
    "courthouse", "housing", "hub", "authority", "tigers", "rockets", "lions", "eagles", "hawks", "bears",
    "wolves", "sharks", "panthers", "falcons", "hornets", "comets", "bandits", "flyers", "rams", "dragons",
    "knights", "warriors", "raiders", "chargers", "chiefs", "orthodontics", "kindergarten", "escrow",
    "bulldogs", "components", "traders", "nutrition", "resources", "marine", "security", "polytechnic",
    "ambulance", "shipping", "lines", "cardiology", "oncology", "dermatology", "neurology", "urology",
    "orthopaedics", "orthopedics", "gynaecology", "gynecology", "rheumatology", "audiology", "podiatry",
    "ophthalmology", "resort", "sacco",
}  # fmt: skip


PLACE_HEADS = {
    "hall", "park", "camp", "beach", "lake", "bridge", "mall", "plaza", "tower", "towers", "building",
    "heights", "hills", "village", "estates", "apartments", "station", "mountain", "river", "valley",
    "springs", "falls", "harbor", "harbour", "bay", "island", "county", "township", "borough", "ward",
    "district", "quarter", "square", "field", "fields", "woods", "creek", "point", "port", "junction",
    "ridge", "pines", "oaks", "meadows", "acres", "commons", "crossing", "landing", "manor", "hill", "lakes",
    "baths", "reservoir", "quay", "heath", "layout", "reserve",
} | STREET_TYPES  # fmt: skip


ORG_LEADS = {"at", "for", "with", "from", "join", "joined", "by"}


#: Words that turn a weak head into the kind of a service ("urgent care", "sexual health",
#: "sheriff's office"): a name before the pair makes it an organisation.
SERVICE_QUALIFIERS = {
    "urgent", "sexual", "mental", "behavioral", "behavioural", "primary", "public", "women's", "senior",
    "respite", "hospice", "home", "sheriff's", "attorney's", "prosecutor's", "mayor's", "coroner's", "assessor's",
}  # fmt: skip


#: Words that describe a kind of place rather than name one ("community college", "urgent care").
GENERIC_MODIFIERS = {
    "community", "family", "local", "public", "primary", "medical", "high", "middle", "elementary", "general",
    "city", "county", "state", "cancer", "recovery", "health", "mental", "free", "new", "old", "big", "little",
    "main", "same", "other", "day", "night", "walk", "urgent", "emergency", "dental", "rehab", "fertility",
    "law", "police", "fire", "grocery", "corner", "coffee", "nearby", "next", "whole", "every", "sports",
    "church", "school", "summer", "after", "private", "catholic", "christian", "methadone", "drug", "in",
    "bus", "train", "gas", "petrol", "car", "power", "water", "treatment", "dog", "food", "paper", "steel",
    "processing", "packing", "chicken", "meat", "distribution", "sewage", "recycling", "nuclear",
    "credit", "labor", "labour", "trade", "student", "bowling", "wine", "record", "trailer", "boot", "science",
    "art", "history", "natural", "human", "social", "border", "airport", "national", "cyber", "paediatric",
    "pediatric", "adult", "child", "outpatient", "inpatient", "hospital", "ski", "beach", "holiday",
}  # fmt: skip


ORG_PLACE_LEADS = {
    "at", "for", "from", "with", "to", "called", "named", "join", "joined", "by", "call", "tell", "told",
    "phoned", "contact", "contacted", "emailed", "through",
}  # fmt: skip


FUNCTION_WORDS = {
    "the", "a", "an", "and", "or", "but", "to", "of", "in", "on", "at", "for", "with", "from", "is", "was",
    "i", "you", "he", "she", "we", "they", "it", "my", "his", "her", "our", "their", "your", "me", "him",
    "them", "us", "that", "this", "said", "says", "went", "go", "got", "had", "has", "have", "be",
}  # fmt: skip


#: Heads that also follow a name in everyday speech ("took Priya home"): they extend a name only
#: after "at"/"for"/"with" or before a stronger head ("Golden Years Home Care").
WEAK_HEADS = {
    "home", "homes", "house", "day", "family", "community", "general", "city", "county", "high", "middle",
    "care", "team", "law", "health", "office", "board", "program", "programme", "point", "field", "works",
    "group", "trust", "press", "media", "united", "store", "shop", "kitchen", "walk", "way", "place",
    "close", "row", "square", "grove", "gardens", "river", "valley", "springs", "quarter", "ward", "bay", "aid",
    "surgery", "housing", "ambulance", "lines",
}  # fmt: skip

#: Every head word of a business or a place name.
HEADS = ORG_HEADS | PLACE_HEADS


def end_without_possessive(token: Token) -> int:
    return token.end - 2 if token.lower.endswith("'s") else token.end
