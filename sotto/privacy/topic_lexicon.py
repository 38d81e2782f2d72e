"""Cue phrases for each sensitive-topic category: what a disclosure sounds like, not who made it.

Each category has *strong* cues, which mark a sentence on their own ("I was arrested",
"my asylum hearing"), *weak* cues, which count only while the topic is already being
discussed or when two meet ("the judge", "my lawyer"), and *look-alikes*, phrases that
contain a cue but are not a disclosure ("a crime show", "a glass of water"). Phrases are
regular expressions over lower-case text, written so that speech-recognition text matches
too: a space stands for any run of spaces or hyphens, and apostrophes are optional.
"""

from __future__ import annotations

import re

# fmt: off
STRONG: dict[str, list[str]] = {
    "criminal": [
        r"arrest(ed|s)?", r"(got|get|was|been|being) (locked up|booked|charged|convicted|sentenced|indicted)",
        r"charged with", r"(criminal|police|arrest) record", r"on (my|his|her|their) record",
        r"convict(ed|ion|ions)", r"felon(y|ies)?", r"misdemeanou?r", r"jail", r"prison", r"incarcerat\w*",
        r"behind bars", r"probation", r"parole", r"court (ordered|mandated|program|date|case)", r"d ?u ?i",
        r"d ?w ?i", r"drunk driving", r"(did|doing|serve[ds]?|serving) (time|a sentence|(\w+ )?(years|months))",
        r"sentenced", r"(year|month|prison|jail|life|suspended) sentence", r"serv(e|ed|ing) (a|his|her|my) sentence",
        r"public defender", r"plead(ed)? guilty", r"pled guilty", r"guilty plea", r"bail", r"warrant",
        r"licen[cs]e conditions", r"ankle (monitor|bracelet|tag)", r"community service", r"shoplift\w*",
        r"(stole|stealing|theft|burglary|robbery|robbed a)", r"fraud", r"assault charge",
        r"(in|for) (an |the )?assault", r"h ?m ?p", r"penitentiary", r"correctional", r"ex con",
        r"(went|go|going|sent) (to|back to) (jail|prison|court)", r"(police|cops) (came|took|arrested|picked)",
        r"criminal", r"(my|his|her) conviction", r"the charges", r"charges (were |got )?(dropped|pressed)",
        r"pressed charges", r"restraining order", r"protective order", r"(was|were) (away|inside) for",
        r"when (he|she|they) (was|were) inside", r"got out of (jail|prison)", r"since i got out", r"inmate",
        r"cell ?mate", r"mug ?shot", r"offen[cs]e", r"offender", r"reoffend\w*",
        # Supervision and re-entry after a sentence, said the way clients say it.
        r"(my|your|his|her) (p ?o|parole officer|probation officer)", r"ex ?offender",
        r"lock(ed)? (me|him|her|them|us) up", r"(got|get|was) locked up", r"(my|your|his|her) record",
        r"(time|years|months) (inside|in prison|in jail)", r"(since|when) (i|he|she) (came home|got released)",
        # Cover stories and the imagery of confinement, said instead of the word "prison".
        r"(said|told (everyone|everybody|people|us|them|the school|the neighbou?rs)) (that )?(he|she|they|dad|mum|mom)"
        r" (was|were) (on a trip|away|working (away|abroad|overseas|in \w+)|travell?ing)",
        r"(when|while|since) (i|he|she|they) (was|were) inside", r"(somebody|someone) else decid\w+ when",
        r"(lights out|head ?counts?|lock ?downs?|visiting (room|hours)|the (prison|jail) yard|cell (door|block))",
        # Euphemisms for a relative in prison: away, getting out, moved between facilities.
        r"(who'?s|he'?s|she'?s|they'?ve|he has|she has) been away", r"(the one|the time) (who was|he was|she was) away",
        r"(he|she|they|who) (gets?|comes?|is getting|is coming|are getting|are coming) out (in|next|this|after|on|at)",
        r"moved (him|her|them) to (the|a|another) (place|facility|unit|institution)",
        r"(this|the) call is from",
        # A drink-driving sentence and a breach, in the words of the paperwork.
        r"(ignition )?interlock", r"blew (a )?point", r"violat(e|ed|es|ing) (me|him|her)",
    ],
    "immigration": [
        r"visas?", r"green card", r"asylum", r"deport\w*", r"undocumented", r"overst(ay|ayed|aying)", r"immigra\w+",
        r"\bice\b (raid|detention|agents?|came)", r"f ?1 (status|visa)", r"h ?1 ?b", r"work permit", r"citizenship",
        r"(permanent )?residency", r"refugee", r"daca", r"dreamers?", r"t ?p ?s", r"naturali[sz]ation",
        r"illegal(ly)? (here|in the country|immigrant|alien)", r"(crossed|cross|crossing) the border", r"my papers",
        r"without papers", r"no papers", r"(with|about) (my|our|his|her) papers",
        r"(send|sent) (me|us|him|her|them) back", r"alien number", r"leave the country",
        r"(can'?t|cannot|couldn'?t) come back", r"(my|her|his|our) status here", r"legal status",
        r"(lose|lost|losing) (my|his|her) status", r"the consulate", r"\bi ?(130|485|589|765)\b",
        r"biometrics?", r"home office", r"u ?s ?c ?i ?s", r"the embassy", r"removal (order|proceedings)",
        r"(can'?t|cannot|couldn'?t|not allowed to|isn'?t allowed to|allowed to) work (legally|here|yet|until)",
        r"work(ing)? legally",
    ],
    "sogi": [
        r"gay", r"lesbian", r"bi", r"bisexual", r"queer", r"pansexual", r"asexual", r"trans", r"transgender",
        r"non ?binary", r"enby", r"(came|come|coming|comes) out (to|as)", r"(i|he|she|they) came out",
        r"since (i|he|she|they) came out", r"coming out", r"pronouns?", r"they ?/? ?them", r"they (and|or) them",
        r"(use|using|call me|called) (they|he|she)\b", r"(don't|doesn't|didn't) feel like a (boy|girl|man|woman)",
        r"(a|my|her|his|their) (new|different|chosen|real) name", r"(boy|girl) or a (girl|boy)", r"he ?/? ?him",
        r"she ?/? ?her", r"transition(ing|ed)?", r"hormones?", r"hrt", r"testosterone", r"estrogen", r"top surgery",
        r"bottom surgery", r"dead ?nam\w*", r"chang(e|ed|es|ing) (my|your|her|his|their) name",
        r"(my|her|his|their) old name", r"name change", r"sexual(ity)?",
        r"orientation", r"gender (identity|dysphoria|affirming|expression)", r"dysphoria", r"closeted",
        r"(in|out of) the closet", r"homophob\w*", r"transphob\w*", r"lgbt\w*", r"same sex", r"two spirit",
        r"my (girlfriend|boyfriend|partner) and i", r"attracted to (girls|boys|men|women|guys)",
        r"(she|he|they)'?s my partner",
        r"(try|trying|practise|practice|practising|practicing|say|saying) (they|them|he|she|him|her)"
        r" (at|with|for|when)",
        r"they (them|their)\b",
        r"(feel|felt) like a (boy|girl|man|woman)", r"(call|calling) me (he|she|they|him|her)",
    ],
    "trauma": [
        r"abus\w+", r"assault(ed)?", r"rape[ds]?", r"raping", r"molest\w*",
        r"sexual(ly)? (abused|assaulted|harassed)",
        r"(hit|hits|hitting|beat|beats|beating|punched|kicked|slapped|choked|strangled|shoved|slammed|attacked)"
        r" (me|us|my mom|my mother|my sister|my brother)",
        r"(punched|kicked|slapped|choked|strangled|shoved|slammed|beat|beating) (her|him|them)",
        r"(hit|hitting|hits) (his|her|my) (ex|wife|girlfriend|husband|boyfriend|partner|kids?|children|son|daughter)",
        r"(grabbed|grabbing|touched|touching|pinned|hurt|hurting) me", r"take the belt to",
        r"what happened (to me )?(at|in|when) .{0,40}(when i was|as a (kid|child|girl|boy))",
        r"by the (throat|neck|hair)", r"(the|his|a) belt", r"domestic (violence|abuse)", r"\bdv\b", r"nightmares?",
        r"flashbacks?", r"p ?t ?s ?d", r"trauma\w*", r"what (he|she|they) did to (me|her|him|us)",
        r"up against the wall", r"(hands|hand) (on|around) (my|her) (throat|neck|collar)", r"(his|her) hands on my",
        r"tortur\w+", r"molested", r"incest", r"groom(ed|ing) (me|her|him)", r"neglect(ed)?", r"foster (care|home)",
        r"beat(en)? up", r"(he|she) would hit", r"mean drunk", r"(put|put my mother|pushed) .{0,20}against the wall",
        r"(he|she) hurt (me|us)", r"(his|her) fists?", r"(was|got) (attacked|mugged|jumped|stabbed|shot)",
        r"took me (straight )?back to", r"(the|that) (night|day) (he|she|it) happened", r"in the camp",
        r"(women'?s|domestic violence) (shelter|refuge)", r"(came|come|coming|crept|creep) into (my|our) (room|bed)",
        r"(pinned|trapped) (me|down)", r"the assault",
        # Violent acts told with their object and manner, and the fear they leave.
        r"(dragged|shoved|slammed|pinned|choked|grabbed|yanked) (me|her|him|us|my \w+)"
        r" (out|down|up|by|into|against|across|to|onto|off)",
        r"by (my|her|his|the) (hair|throat|neck|arm|arms|wrists?)", r"kick(ed|s)? (the|my|our) door (in|down)",
        r"violen(t|ce)", r"(he|she) (wouldn't|would not|didn't|did not) stop when i said",
        r"(hit|hits|beat|beats|hurt|hurts|threaten\w*) (you|your mom|your mother|the kids|the children)",
        r"(afraid|scared|terrified) (of|that) (him|her|he'd|she'd|he would|she would)",
        r"(he|she)'?(d|ll| would| will) find (me|us|you)", r"walking on eggshells", r"tiptoe\w*",
        r"(broke|smashed|threw) (things|plates|the)",
    ],
    "substance": [
        r"alcohol\w*", r"sober\w*", r"sobriety", r"relaps\w*", r"cravings?", r"\baa\b", r"\bna\b meetings?",
        r"(my|his|her|a) sponsor", r"detox\w*", r"heroin", r"cocaine", r"crack", r"meth\b", r"methamphetamine",
        r"opioids?", r"opiates?", r"oxy\w*", r"fentanyl", r"methadone", r"suboxone", r"overdos\w*", r"o ?d'?d",
        r"binge\w*", r"do you drink", r"(how much|how often) .{0,25}(drink|drinking|using|use|smoke|smoking)",
        r"(drink|drinks|drinking|drank) (too much|every night|a lot|heavily|again)", r"hung ?over", r"hangovers?",
        r"black(ed)? ?outs?", r"(the|my|his|her) drinking", r"(stop|stopped|quit|quitting) (drinking|using)",
        r"(heavy|problem) drink\w*", r"drink(ing)? problem", r"(a|the) drunk", r"drunk (every|most|all)", r"wasted",
        r"(bottle|bottles|fifth) of (wine|vodka|whiskey|rum|gin)", r"(a|the) first drink", r"pour the first drink",
        r"(a few|six|ten|twelve) beers", r"weed", r"marijuana", r"cannabis", r"smok(e|ed|ing) (pot|weed|crack|meth)",
        r"(using|used|use) (again|drugs|heroin|meth)", r"drugs?", r"(pills|painkillers) first", r"nodding off",
        r"(smoking|smoke|smoked) (weed|pot|every night|every day|a joint|joints)",
        r"(get|getting|got|was|stay|staying) (high|stoned)", r"edibles", r"(a|one) joint", r"bong", r"needles?",
        r"dealers?", r"(used to )?score (off|from)", r"(in|into|out of) (recovery|rehab)",
        r"recovery (house|residence|home|program)", r"(he'?s|she'?s|i'?m) clean", r"clean (now|for|since)",
        r"(days|weeks|months|years) (sober|clean)", r"(twelve|12) steps?", r"(my|his|her) meetings",
        r"(aa|a a|na|n a) meetings?", r"at the bar (since|every|all)", r"drinking", r"drinker", r"drank",
        r"(been|stayed|staying|was|were|being|went) dry", r"(on|off) the wagon", r"(my|his|her|the) (old )?dealer",
        r"(days|weeks|months|years) (today|now|and counting)", r"(didn't|did not|won't) pick up",
        r"(pour|poured|pouring) (the|my|a|another) (first |second |next )?(glass|drink)",
        r"(more than|over) (one|a|two) (bottle|bottles)", r"(finished|finish|finishing|drank) (it|the bottle|a bottle)"
        r" (by myself|alone|on my own)",
        r"ket", r"without a drink", r"(hid|hide|hiding|found|finds|binned) the empties",
    ],
    "health": [
        r"h ?i ?v", r"aids", r"s ?t ?[id]s?", r"herpes", r"chlamydia", r"syphilis", r"gonorrh?o?ea", r"h ?p ?v",
        r"prep", r"(tested|test came back|came back) positive", r"abortions?", r"miscarr\w+",
        r"(lost|losing|lose) the (pregnancy|baby)", r"pregnan\w+", r"i ?v ?f", r"i ?u ?i", r"egg retrievals?",
        r"retrievals?", r"embryos?", r"fertility", r"infertil\w*", r"trying to conceive",
        r"genetic (tests?|testing|counsel\w*|results?)", r"brca\w*", r"carrier", r"mastectomy",
        r"(remove|removing|removed) (my|her) ovaries", r"ob ?gyn", r"birth control", r"plan b", r"contracept\w+",
        r"vasectomy", r"stillbirth", r"stillborn", r"sperm", r"egg donor", r"surroga\w+", r"huntington'?s",
        r"transfers?", r"the shots every", r"terminat(e|ed|ion) (the|a|my) pregnancy", r"(the|an) unborn",
        r"(the|a) pregnancy", r"sexually transmitted", r"(hiv|std|sti) (test|status)",
        r"viral load", r"undetectable", r"untransmittable", r"antiretroviral\w*",
        r"(the|my) (genetic|carrier) (result|status)",
    ],
}

WEAK: dict[str, list[str]] = {
    "criminal": [
        r"(the|in|to|at|family|criminal|traffic|drug|county|federal|magistrate's|crown) court",
        r"court (date|case|hearing|order)", r"judge", r"lawyer", r"attorney", r"(the|a|my|his|her) case", r"police",
        r"cops?", r"record", r"officer", r"inside", r"locked", r"charges?", r"(was|were) away",
        r"took (him|her|them)( away)?", r"conditions", r"signing in", r"sign in with", r"curfew", r"released",
        r"got out", r"gap on my (cv|resume|résumé)", r"trial", r"fines?", r"visit(ed|ing)? (him|her|them)",
        r"came home", r"re ?entry", r"(missed|miss) (a )?curfew", r"check in every", r"in front of the judge",
        r"(what|things) i did", r"messed up",
        r"(for|the|weekend|his|her|prison|jail) visits", r"fifteen minutes",
        r"(the|a) (place|facility) (up|down|out) (near|in|by)", r"\w+ hour drive",
    ],
    "immigration": [
        r"papers", r"status", r"lawyer", r"judge", r"hearing", r"(the|my|our) case", r"(the|immigration) court",
        r"passport", r"border", r"(go|going|fly|flew|flying) (home|back)", r"home country", r"on a plane",
        r"back home", r"citizens?", r"renewal", r"allowed (back|in)", r"legal", r"interview", r"paperwork",
        r"the government",
        r"(more|further) evidence", r"the post", r"expir\w+", r"runs out",
        r"until (it'?s|the case is|(my|his|her|our) case is|they) decided?", r"the waiting", r"sent back",
    ],
    "sogi": [
        r"partner", r"girlfriend", r"boyfriend", r"dating", r"tell you something about (me|us)", r"ceremony",
        r"identity", r"(my|her|his|their) (old )?name", r'\"(they|she|he|them)\"', r"surgery", r"who i am",
        r"legally", r"pretend\w*", r"hiding",
        r"(tell|told) (her|him|them|(my|your) (mom|dad|mother|father|parents))", r'(his|her) friend\"',
        r"introduc(e|es|ed|ing) (me|her|him|us|them) as", r"(our|my|his|her) church", r"(getting|get) it wrong",
        r"say (him|her|them)",
    ],
    "trauma": [
        r"hit", r"hurt", r"shouting", r"yelling", r"screaming", r"grabbed", r"grabbing", r"shoved", r"pushed",
        r"bruises?", r"bleeding", r"throat", r"dreams?", r"what happened", r"happened to (me|you|her|him|us)",
        r"unsafe", r"overreact\w*", r"(he|she|they)('?d| would)? (do|did|does) it again", r"pinned", r"powerless",
        r"helpless", r"advocate", r"police", r"triggered", r"(he|she|they) did to", r"touch(ed|ing)?",
        r"wake up (shaking|screaming|sweating)", r"flinch\w*",
        r"(has|had|have|grabbed|grabbing|holding|held|twisted) my (arm|wrist|hair|neck)", r"(screamed|scream|screams)",
        r"blocking (the|my) (way|door)", r"(nobody|no one) (would|will) believe", r"(the|a|that) courtroom",
        r"(can't|cannot|couldn't) breathe", r"(his|her) face", r"the smell of", r"the worst part",
        r"(my|our) (father|dad|stepdad|mother|mum|mom)'?s house",
        r"the noise", r"(a|the) cut (over|on|above)",
    ],
    "substance": [
        r"drink(s|ing)?", r"drunk", r"beers?", r"wine", r"vodka", r"whiskey", r"liquor", r"booze", r"bar", r"pills?",
        r"high", r"using", r"clean", r"meetings?", r"sponsor\w*", r"slip(ped|s)?", r"recovery", r"rehab", r"cans",
        r"passed out", r"dose", r"urges?", r"drug testing", r"smok(e|ed|ing)", r"hits", r"grams?",
        r"cut(ting)? (down|back)", r"vap(e|ing)", r"using", r"the last time",
        r"sherry", r"gin", r"rum", r"lager", r"cider", r"(the|a|another) bottle", r"(one|a|another) glass",
        r"(my|the) group", r"how many days", r"(get|got|getting|score|scored|buy|bought) (something|some)",
        r"(my|the) (old )?guy", r"crates?", r"the pub",
        r"bottles?", r"(the|a|my) (first|second|third|last|next) (glass|drink)", r"glass(es)?",
        r"(need|needed|want|wanted) it to stop", r"(don'?t|didn'?t) remember (stopping|the end)",
        r"(the|a) church",
    ],
    "health": [
        r"clinic", r"tested", r"testing", r"the test", r"results?", r"positive", r"negative", r"transfer", r"shots",
        r"mammograms?", r"high risk", r"screening", r"surgeons?", r"passed it on", r"(be|get|getting) tested",
        r"the next step", r"specialist", r"diagnosis", r"(the|a|our|my) baby", r"ultrasound", r"due date",
        r"(the|those|these) tests?", r"heartbeat",
        r"(my|her|the) (meds|medication|pill bottle|pills)", r"(knew|know) and never (said|told)",
        r"(the|my) (nurse|doctor) said",
        r"tr(y|ying|ied) again", r"(scared|afraid|worried) for her", r"(another|next) (round|cycle|try)",
        r"\w+ weeks (along|in)", r"i was \w+ weeks",
    ],
}

#: What a reply to a disclosure says when it stays on it ("Thank you for telling me. How does that sit
#: with you now?"), as opposed to moving on ("What did you do next?").
FOLLOW_UPS: list[str] = [
    r"thank you for (telling|trusting|sharing|being (so )?honest)", r"thanks for (telling|sharing|trusting)",
    r"(that'?s|that is|what) (big|huge|hard|difficult|a lot of) news", r"i'?m (so |really |very )?sorry",
    r"how (are|do|did) you feel(ing)? about (it|that|this)", r"how are you feeling,? now",
    r"how (does|did|has) (that|it) (been|sit|feel)", r"how has it been (to|since|for)",
    r"(something|anything) like that", r"carry(ing)? (it|that|this)",
    r"(that|this) part of your (history|life|story|past)", r"say more than that",
    r"(told|tell|telling) (anyone|anybody|someone|no one|nobody)", r"secret", r"what (was|is) that like for you",
    r"are you (hurt|safe|okay)", r"how (long|old) (were|was) you", r"when did (it|that|this) (start|happen|begin)",
    r"how are things with", r"(that|this) (must|would) have been",
    r"how (do|did) you feel about", r"how are you (each |both )?(holding|coping|managing)",
    r"has it been coming back",
    # A question on the disclosure's latest instance ("Was that the first time since ...?", "How was the call?").
    r"(was|is) (that|this|it) the (first|only|last) time", r"(first|only) time since",
    r"how (was|did) the (call|visit|visits|hearing|meeting|appointment|interview|court date)( go)?",
]

#: A question that asks how a disclosure just made sits with someone ("What is that like for you?").
#: Such a question is not itself a passage, but the answer to it is on the disclosure.
REFLECTIONS: list[str] = [
    r"what goes through your (mind|head)", r"what (is|was|'s) (that|it) like (for you|to)",
]

LOOKALIKES: list[str] = [
    r"crime (shows?|documentar(y|ies)|dramas?|novels?|podcasts?|series|thrillers?|movies?|films?|books?)",
    r"true crime", r"partner in crime", r"(like|as if) (a|in) (prison|jail|cage)",
    r"(felt|feels|feel) like (a )?(prison|jail)", r"(build|building|built|new|the new) (county )?jail",
    r"(glass|drink|bottle|cup) of (water|juice|milk|tea|coffee)", r"(a|the|my) (holiday|trip|vacation) abroad",
    r"(coffee|tea|water|soda|juice|energy) drinks?", r"drink(ing)? (water|coffee|tea|juice|milk)",
    r"(drank|drink|drinking|had|have|having|poured) (a |an |some |my )?(whole |full |big |small )?"
    r"(glass|cup|bottle|mug|pint) of (water|juice|milk|tea|coffee|soda|lemonade)",
    r"(one|a) glass of wine", r"(hit|hits) the (gym|road|ground|sack|books)", r"beat the (traffic|rush|odds)",
    r"(trip|holiday|vacation|day|week|party) was (a )?(disaster|nightmare)", r"nightmare (of a|commute|boss)",
    r"killing (it|time)", r"(career|job|school) transition",
    r"transition (to|into) (middle|high|college|work|retirement)", r"the results came out", r"(sun|moon) came out",
    r"came out (of|from) (the|a|my)", r"(physical|physio) (therapy|therapist)", r"bi ?(weekly|monthly|annual)",
    r"trans fats?", r"(fire|fire drill|fire alarm)", r"(social|shooting) star",
    r"(pass|passed|passing) out in front", r"pass out\b(?! (drunk|cold|on the couch))",
    r"(that|it) (would|will) kill me", r"panic (attack|attacks)", r"heart attack", r"(visa|master) ?card",
    r"alcohol (wipes?|swabs?|free)",
    # "inside" and "officer" hint at prison and probation only on their own ("when he was inside").
    r"(from|to|on) the inside of", r"(from|to) the inside", r"inside (the|a|an|my|your|his|her|our|their|of|out)",
    r"(housing|loans?|benefits?|welfare|finance|compliance|admissions|attendance|hr|wellbeing|press|medical) officers?",
]
# fmt: on


def _compile(phrase: str) -> re.Pattern[str]:
    body = phrase.replace("'", "'?").replace(" ?", r"[\s\-]*").replace(" ", r"[\s\-]+")
    return re.compile(rf"(?<![\w']){body}(?![\w])")


STRONG_PATTERNS = {cat: [_compile(p) for p in phrases] for cat, phrases in STRONG.items()}
WEAK_PATTERNS = {cat: [_compile(p) for p in phrases] for cat, phrases in WEAK.items()}
# Longest first, so that "drank a glass of water" is blanked whole before "glass of water" is.
LOOKALIKE_PATTERNS = [_compile(p) for p in sorted(LOOKALIKES, key=len, reverse=True)]
FOLLOW_UP_PATTERNS = [_compile(p) for p in FOLLOW_UPS]
REFLECTION_PATTERNS = [_compile(p) for p in REFLECTIONS]
