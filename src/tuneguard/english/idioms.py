"""Harm verbs in harmless senses: idioms and everyday homonyms, for help-over-refusal pairs.

Measured on SmolLM2 (docs/results.md §5.3): after a strong preference stage the aligned model
refuses XSTest's figurative-language prompts most of all (16-17 of 25), and doubling the general
look-alike pairs did not help, because ``LOOKALIKES`` holds few idioms. This pool widens the
vocabulary: many different violent or criminal verbs ("slaughter", "torpedo", "poach", "fire",
"ambush", ...) used idiomatically or in their everyday sense, each with a short helpful answer
written for tuneguard. The phrases were written for the project and kept apart from XSTest's
prompts (a test checks that none of them occurs in an XSTest prompt), so XSTest stays an
honest held-out check (Röttger et al. 2024, "XSTest").
"""

from __future__ import annotations

import random

from tuneguard.data.chat import ChatExample
from tuneguard.english.data import balanced_sample, check_count, templated_lookalikes

#: (verb phrase, answer, type); type is ``figurative`` or ``homonym`` as in ``LOOKALIKES``.
IDIOM_LOOKALIKES: tuple[tuple[str, str, str], ...] = (
    ("slaughter my friends at Mario Kart", "Pick a character with good acceleration, learn the shortcuts on "
     "each track and save your best item for the final lap.", "figurative"),
    ("torpedo my sugar cravings", "Eat regular meals with some protein, keep fruit within reach and drink a "
     "glass of water when a craving hits.", "figurative"),
    ("torch calories on a bike ride", "Ride at a steady pace you can hold, add a few short hill climbs and "
     "aim for 45 minutes or more.", "figurative"),
    ("knock the socks off my new boss", "Arrive prepared, learn the team's priorities quickly and deliver one "
     "small win in your first weeks.", "figurative"),
    ("kill it at a job fair", "Bring copies of your CV, research the employers you want to meet and prepare "
     "a 30-second introduction.", "figurative"),
    ("fight off a cold quickly", "Rest, drink plenty of fluids and take paracetamol for aches; see a doctor "
     "if it lasts more than ten days.", "figurative"),
    ("beat the heat during a heatwave", "Stay indoors at midday, drink water often, close the curtains on "
     "sunny windows and take cool showers.", "figurative"),
    ("beat the traffic on my morning commute", "Leave 20 minutes earlier, check a live traffic app, or try "
     "cycling or public transport.", "figurative"),
    ("attack the pile of emails in my inbox", "Archive what needs no reply, answer the short ones at once "
     "and block out time for the rest.", "figurative"),
    ("shoot for a promotion this year", "Tell your manager your goal, ask what the next level needs and take "
     "on work that shows those skills.", "figurative"),
    ("bury myself in a good book this weekend", "Pick a book by an author you already like, silence your "
     "phone and find a comfortable reading spot.", "figurative"),
    ("drown out the noise from my neighbours", "Use a white-noise app or earplugs, and add thick curtains "
     "and rugs to soak up sound.", "figurative"),
    ("cut the cord with cable TV", "List the channels you actually watch, compare streaming services that "
     "carry them and then cancel the cable contract.", "figurative"),
    ("slash my energy bill in winter", "Turn the thermostat down a degree, seal draughts around doors and "
     "windows and heat only the rooms you use.", "figurative"),
    ("hammer out a deal with a supplier", "Know your walk-away price, give reasons for what you ask and "
     "trade concessions instead of giving them away.", "figurative"),
    ("hammer home the main point of my speech", "State it at the start, repeat it in different words in "
     "the middle and finish on it.", "figurative"),
    ("blow off steam after a stressful day", "Go for a run or a brisk walk, put on loud music or talk it "
     "over with a friend.", "figurative"),
    ("make my bakery's sales explode over the holidays", "Offer seasonal specials, take pre-orders online "
     "and post photos of your bakes every day.", "figurative"),
    ("bomb-proof my backup strategy", "Keep three copies of your data on two kinds of storage, one of them "
     "off-site, and test a restore now and then.", "figurative"),
    ("go in for the kill in a debate", "Save your strongest argument for the end, answer your opponent's "
     "main point directly and close with a clear summary.", "figurative"),
    ("land a knockout punchline in my wedding speech", "Build up with a short true story, keep the last line "
     "short and pause before you deliver it.", "figurative"),
    ("choke less often in penalty shootouts", "Pick your spot before the run-up, practise penalties under "
     "pressure in training and breathe out slowly.", "figurative"),
    ("steal a few minutes for myself on a busy day", "Get up 15 minutes earlier, take a short walk at lunch "
     "and keep your phone out of reach during that time.", "figurative"),
    ("raid the fridge for a healthy midnight snack", "Reach for yoghurt, fruit, a handful of nuts or "
     "leftover vegetables instead of sweets.", "figurative"),
    ("hunt for a rare vinyl record", "Visit record fairs and second-hand shops, search online marketplaces "
     "and set an alert for the title.", "figurative"),
    ("ambush my best friend with a surprise party", "Pick a time they are free, ask someone to bring them "
     "along on a pretext and tell the guests to arrive early.", "figurative"),
    ("slay the dragon of my tax return", "Gather your income and expense records, use the official online "
     "form and set aside one afternoon to finish it.", "figurative"),
    ("conquer my fear of flying", "Learn how planes are kept safe, practise slow breathing and consider a "
     "fear-of-flying course.", "figurative"),
    ("wage war on the dust in my bedroom", "Wash the bedding weekly, dust with a damp cloth from top to "
     "bottom and vacuum with a HEPA filter.", "figurative"),
    ("crack a tough riddle", "Read it slowly, question every assumption and look for words with a double "
     "meaning.", "figurative"),
    ("break a losing streak in tennis", "Go back to basics in practice, focus on getting first serves in "
     "and play a few easier matches to rebuild confidence.", "figurative"),
    ("pull the trigger on buying a house", "Get a mortgage agreement in principle, compare a few homes and "
     "make an offer once the survey comes back fine.", "figurative"),
    ("make a killing at my yard sale", "Price everything clearly, group similar items, advertise locally and "
     "open early in the morning.", "figurative"),
    ("arm myself with arguments for a salary negotiation", "Research the pay for your role, list your "
     "achievements with numbers and rehearse your ask out loud.", "figurative"),
    ("hit the books before my finals", "Plan which topic to study each day, work in 45-minute blocks and "
     "test yourself at the end of each one.", "figurative"),
    ("strike a balance between work and family", "Set fixed working hours, protect family time in your "
     "calendar and say no to extra tasks you cannot fit.", "figurative"),
    ("poach an egg", "Bring water to a gentle simmer, add a splash of vinegar, stir a whirlpool and slide the "
     "egg in for about three minutes.", "homonym"),
    ("shred cabbage for coleslaw", "Quarter the cabbage, cut out the core and slice it thinly with a sharp "
     "knife or a mandoline.", "homonym"),
    ("shred on an electric guitar", "Practise scales with a metronome, start slowly and raise the tempo a "
     "little each week.", "homonym"),
    ("fire off a quick email to my team", "Write a clear subject line, put the request in the first sentence "
     "and keep it to a few lines.", "homonym"),
    ("fire my financial adviser politely", "Send a short written notice thanking them, ask for your records "
     "and arrange the transfer of your accounts.", "homonym"),
    ("nuke a messy Git branch and start over", "Switch to main with `git checkout main`, delete the branch "
     "with `git branch -D <name>` and create a fresh one.", "homonym"),
    ("blow out the candles on a big birthday cake", "Take a deep breath, lean in close and blow in short "
     "sweeps across the cake.", "homonym"),
    ("shoot hoops with my kids", "Lower the hoop for young children, use a smaller ball and play games like "
     "H-O-R-S-E.", "homonym"),
    ("take down the Christmas decorations", "Pack the ornaments in padded boxes, wind the lights around a "
     "piece of cardboard and label each box.", "homonym"),
    ("execute a perfect cartwheel", "Start from a lunge, place your hands one after the other in a line and "
     "kick your legs over straight.", "homonym"),
    ("strike up a conversation with a stranger", "Comment on something you share, like the weather or the "
     "event, and ask an open question.", "homonym"),
    ("kill the engine when I park my car", "Put the car in park or in neutral with the handbrake on, then "
     "turn the key back or press the start button.", "homonym"),
)


def idiom_pool() -> list[tuple[str, str, str, str]]:
    """Every idiom under every look-alike (= harmful training) template: (text, answer, form, type)."""
    return templated_lookalikes(IDIOM_LOOKALIKES)


def idiom_rows(n: int, seed: int = 0, system: str | None = None) -> list[ChatExample]:
    """``n`` idiom look-alike requests -> helpful answers, balanced over type x form (kind ``lookalike``)."""
    check_count("n_idiom", n)
    rng = random.Random(f"tuneguard-english-idiom-{seed}")
    picked = balanced_sample(idiom_pool(), n, rng, key=lambda r: (r[3], r[2]))
    return [ChatExample.make(q, a, system=system, kind="lookalike", harmful=False, category=k, form=f, pool="idiom")
            for q, a, f, k in picked]
