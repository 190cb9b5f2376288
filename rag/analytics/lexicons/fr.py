"""The French lexicon: how the planner reads a question written in French.

Every entry maps French words, folded (lower case, accents off, elisions split: "l'Allemagne" -> "le allemagne",
contractions opened: "du" -> "de le"), to the planner's own words. Word order is set right afterwards by the roles
given here: an adjective that French writes after its noun ("le poids moyen", "les voitures japonaises", "la
voiture la plus lourde") is put before it ("the average weight", "the japanese cars", "the heaviest car").

Field words are a short bilingual list ("poids" -> weight, "cylindrée" -> displacement, "espèce" -> species): the
planner then meets the field through its own names and synonyms, and refuses when unsure. Places are read through
Babel's territory names ("Japon" -> Japan, "États-Unis" -> United States), not listed here.
"""

from __future__ import annotations

import re

CODE = "fr"

ELISIONS = {"l": "le", "d": "de", "qu": "que", "n": "ne", "s": "se", "j": "je", "c": "ce", "m": "me", "t": "te",
            "jusqu": "jusque", "lorsqu": "lorsque", "puisqu": "puisque", "quoiqu": "quoique"}
"""Elided words ("l'", "d'") and their full form."""

CONTRACTIONS = {"du": ("de", "le"), "des": ("de", "les"), "au": ("à", "le"), "aux": ("à", "les")}
"""Articles fused with a preposition, opened before reading ("du Japon" -> "de le Japon")."""

INVERSION_SUFFIXES = ("t", "il", "ils", "elle", "elles", "on", "ce", "moi", "nous", "vous", "en", "y", "les", "le")
"""Pronouns glued by a hyphen in questions ("y a-t-il", "est-ce", "donne-moi"): split off."""

FUNCTION_WORDS = frozenset(
    "le la les un une de des du au aux et ou est sont combien quel quelle quels quelles qui que quoi dans pour "
    "avec sans par chaque entre plus moins moyenne moyen nombre ont donne liste montre ce cette ces il elle ils "
    "elles y a-t-il sur leur leurs se ne pas tous toutes".split()
)
"""Words that say a question is French (language detection counts them)."""

PHRASES: dict[str, str] = {
    # --- asking
    "le plus de": "the most", "le moins de": "the fewest", "la plus de": "the most",
    "a t il": "", "a t elle": "", "est il": "", "est elle": "", "etait il": "", "etait elle": "", "ont ils": "",
    "ont elles": "", "sont ils": "", "sont elles": "", "avait il": "", "avait elle": "",
    "viennent pas de": "are not from", "vient pas de": "is not from", "sont pas": "are not", "est pas": "is not",
    "font": "have", "fait": "has", "faisant": "having", "datent de": "are from", "date de": "is from",
    "datant de": "from", "se trouvent à": "are in", "se trouve à": "is in", "se trouvent en": "are in",
    "se trouve en": "is in", "se trouvent dans": "are in", "se trouve dans": "is in", "situe à": "in",
    "situes à": "in", "situee à": "in", "situees à": "in", "situe en": "in", "situes en": "in",
    "de moins de": "below", "de plus de": "above", "ont eu": "had", "a eu": "had", "eu": "",
    "donnes": "given", "donnee": "given", "laisse": "left", "laisses": "left", "laissee": "left",
    "laissees": "left", "passe": "placed", "passes": "placed", "passee": "placed", "passees": "placed",
    "repertorie": "listed", "repertories": "listed", "repertoriee": "listed", "repertoriees": "listed",
    "a depasse": "above", "ont depasse": "above", "depasse": "above", "degres": "", "degre": "", "mm": "",
    "le lundi": "on monday", "le mardi": "on tuesday", "le mercredi": "on wednesday", "le jeudi": "on thursday",
    "le vendredi": "on friday", "le samedi": "on saturday", "le dimanche": "on sunday",
    "au diner": "at dinner", "au dejeuner": "at lunch", "additions": "total bills",
    "largeur de petale": "petal width", "largeur des petales": "petal width", "longueur de petale": "petal length",
    "longueur des petales": "petal length", "largeur de sepale": "sepal width", "largeur des sepales": "sepal width",
    "longueur de sepale": "sepal length", "longueur des sepales": "sepal length",
    "pib moyen par habitant": "average gdpPercap", "habitants": "population", "de habitants": "population",
    "etats": "states", "transporteur": "carrier", "transporteurs": "carriers", "livraison": "shipping",
    "frais de livraison": "shipping", "cout de livraison": "shipping cost",
    "cout de la livraison": "shipping cost", "cout total de la livraison": "total shipping cost",
    "cout total de livraison": "total shipping cost", "couts de livraison": "shipping costs", "frais de port": "shipping cost",
    "chiffre de affaires": "revenue",
    "utilise": "used", "utilises": "used", "utilisee": "used", "utilisees": "used",
    "les plus utilises": "the most used", "les plus utilisees": "the most used",
    "combien de": "how many", "combien y a t il de": "how many", "combien existe t il de": "how many",
    "combien y a t il": "how many", "combien": "how many", "combien de fois": "how many times",
    "combien pese": "how heavy is", "combien pesent": "how heavy are",
    "quel est": "what is", "quelle est": "what is", "dont le": "whose", "dont la": "whose", "dont les": "whose",
    "nombre moyen de": "average number of", "quels sont": "what are", "quelles sont": "what are",
    "quel etait": "what was", "quelle etait": "what was",
    "quel": "which", "quelle": "which", "quels": "which", "quelles": "which",
    "lequel": "which", "laquelle": "which", "lesquels": "which", "lesquelles": "which",
    "qu est ce que": "what is", "qu est ce qui": "what", "est ce que": "", "est ce qu": "",
    "quand": "when", "où": "where", "qui": "who", "comment": "how",
    "y a t il": "are there", "il y a": "there are", "existe t il": "are there",
    "nombre de": "number of", "nombre total de": "total number of", "le nombre total de": "the total number of",
    # --- asking for records
    "donne moi": "give", "donnez moi": "give", "donne": "give", "donnez": "give", "donner": "give",
    "montre moi": "show", "montrez moi": "show", "montre": "show", "montrez": "show", "affiche": "show",
    "affichez": "show", "afficher": "show", "liste": "list", "listez": "list", "lister": "list",
    "la liste de": "list", "la liste des": "list", "liste de": "list", "cite": "list", "citez": "list",
    "enumere": "list", "enumerez": "list", "trouve": "find", "trouvez": "find", "trouver": "find",
    "indique": "give", "indiquez": "give", "dis moi": "tell", "dites moi": "tell",
    "decris": "describe", "decrivez": "describe", "decrire": "describe", "explique": "explain",
    "expliquez": "explain", "compare": "compare", "comparez": "compare", "resume": "summarize",
    "resumez": "summarize", "pourquoi": "why", "s il te plait": "please", "s il vous plait": "please",
    # --- computing
    "moyenne": "average", "moyen": "average", "moyens": "average", "moyennes": "average", "en moyenne": "on average",
    "mediane": "median", "median": "median", "medianes": "median", "medians": "median",
    "somme": "sum", "total": "total", "totale": "total", "totaux": "total", "totales": "total", "au total": "in total",
    "maximum": "maximum", "maximal": "maximum", "maximale": "maximum", "maximaux": "maximum", "maximales": "maximum",
    "minimum": "minimum", "minimal": "minimum", "minimale": "minimum", "minimaux": "minimum", "minimales": "minimum",
    "max": "max", "min": "min",
    "pourcentage": "percentage", "quel pourcentage": "what percentage",
    "quel pourcentage des": "what percentage of", "quelle part des": "what share of", "proportion": "proportion",
    "quelle proportion": "what proportion", "quelle part": "what share", "pour cent": "percent",
    "different": "different", "differents": "different", "differente": "different", "differentes": "different",
    "distinct": "distinct", "distincts": "distinct", "distincte": "distinct", "distinctes": "distinct",
    "unique": "unique", "uniques": "unique",
    "le plus courant": "the most common", "la plus courante": "the most common",
    "le plus frequent": "the most common", "la plus frequente": "the most common",
    "le plus repandu": "the most common", "la plus repandue": "the most common",
    "les plus courants": "the most common", "les plus courantes": "the most common",
    "les plus frequents": "the most common", "les plus frequentes": "the most common",
    "le plus souvent": "most often", "mode": "mode",
    # --- groups
    "par": "per", "pour chaque": "for each", "pour chacun des": "for each", "pour chacune des": "for each",
    "chaque": "each", "selon": "by", "en fonction de": "by", "groupe par": "grouped by",
    "groupes par": "grouped by", "regroupe par": "grouped by", "reparti par": "broken down by",
    "ventile par": "broken down by",
    # --- comparing
    "plus de": "more than", "plus que": "more than", "plus d": "more than", "moins de": "less than",
    "moins que": "less than", "au moins": "at least", "au plus": "at most", "au maximum": "at most",
    "depasse": "exceeds", "depassent": "exceeds", "depassait": "exceeds", "depassaient": "exceeds",
    "depassant": "exceeding", "a depasse": "exceeds", "ont depasse": "exceeds",
    "au minimum": "at least", "superieur à": "greater than", "superieure à": "greater than",
    "superieurs à": "greater than", "superieures à": "greater than", "inferieur à": "less than",
    "inferieure à": "less than", "inferieurs à": "less than", "inferieures à": "less than",
    "superieur ou egal à": "at least", "superieure ou egale à": "at least", "inferieur ou egal à": "at most",
    "inferieure ou egale à": "at most", "egal à": "equal to", "egale à": "equal to", "entre": "between",
    "compris entre": "between", "comprise entre": "between", "compris entres": "between", "comprises entre": "between",
    "laisse par": "from", "laisses par": "from", "laissee par": "from", "laissees par": "from",
    "laisse par des": "from", "laisses par des": "from", "laissee par des": "from", "laissees par des": "from",
    "au dessus de": "above", "en dessous de": "below", "au dessous de": "below", "sous": "under",
    "depasse": "exceeds", "depassent": "exceed", "depassant": "exceeding",
    "plus lourd que": "heavier than", "plus lourde que": "heavier than", "plus lourds que": "heavier than",
    "plus lourdes que": "heavier than", "plus leger que": "lighter than", "plus legere que": "lighter than",
    "plus legers que": "lighter than", "plus legeres que": "lighter than",
    "plus grand que": "larger than", "plus grande que": "larger than", "plus grands que": "larger than",
    "plus grandes que": "larger than", "plus petit que": "smaller than", "plus petite que": "smaller than",
    "plus petits que": "smaller than", "plus petites que": "smaller than",
    "plus eleve que": "higher than", "plus elevee que": "higher than", "plus eleves que": "higher than",
    "plus elevees que": "higher than",
    # --- dates
    "avant": "before", "apres": "after", "depuis": "since", "pendant": "during", "au cours de": "during",
    "janvier": "January", "fevrier": "February", "mars": "March", "avril": "April", "mai": "May", "juin": "June",
    "juillet": "July", "aout": "August", "septembre": "September", "octobre": "October", "novembre": "November",
    "decembre": "December", "1er": "1",
    "lundi": "monday", "mardi": "tuesday", "mercredi": "wednesday", "jeudi": "thursday", "vendredi": "friday",
    "samedi": "saturday", "dimanche": "sunday",
    # --- ranking
    "premier": "first", "premiere": "first", "premiers": "first", "premieres": "first", "dernier": "last",
    "derniere": "last", "derniers": "last", "dernieres": "last", "classement": "ranking", "classe par": "sorted by",
    "classes par": "sorted by", "tries par": "sorted by", "trie par": "sorted by", "ordre": "order",
    "croissant": "ascending", "decroissant": "descending",
    # --- grammar
    "le": "the", "la": "the", "les": "the", "un": "a", "une": "a", "de": "of", "d": "of", "a": "has", "à": "in",
    "ont": "have", "avait": "had", "avaient": "had", "possede": "has", "possedent": "have", "est": "is",
    "sont": "are", "etait": "was", "etaient": "were", "a ete": "was", "ont ete": "were", "sera": "will be",
    "dans": "in", "en": "in", "pour": "for", "avec": "with", "sans": "without", "sur": "on", "chez": "at",
    "parmi": "among", "ou": "or", "et": "and", "ne": "", "pas": "not", "non": "not", "aucun": "no", "aucune": "no",
    "tous": "all", "toutes": "all", "tout": "all", "toute": "all", "ce": "this", "cet": "this", "cette": "this",
    "ces": "these", "son": "its", "sa": "its", "ses": "its", "leur": "their", "leurs": "their", "il": "it",
    "elle": "it", "ils": "they", "elles": "they", "y": "", "se": "", "on": "", "je": "", "me": "", "moi": "",
    "nous": "", "vous": "", "te": "", "que": "that", "dont": "whose", "si": "if", "ayant": "having",
    "contient": "contains", "contiennent": "contain", "contenant": "containing", "comprend": "includes",
    "commence par": "starts with", "commencent par": "start with", "commencant par": "starting with",
    "se termine par": "ends with", "se terminent par": "end with", "se terminant par": "ending with",
    "finit par": "ends with", "finissent par": "end with", "termine par": "ending with",
    "terminent par": "end with", "terminant par": "ending with",
    "vient de": "comes from", "viennent de": "come from", "provient de": "comes from",
    "proviennent de": "come from", "venant de": "from", "originaire de": "from", "originaires de": "from",
    "fabrique en": "made in", "fabriquee en": "made in", "fabriques en": "made in", "fabriquees en": "made in",
    "appele": "called", "appelee": "called", "appeles": "called", "appelees": "called", "nomme": "named",
    "nommee": "named", "manquant": "missing", "manquante": "missing", "manquants": "missing",
    "manquantes": "missing", "vide": "empty", "vides": "empty", "inconnu": "unknown", "inconnue": "unknown",
    "existe": "exists", "existent": "exist", "enregistre": "recorded", "enregistres": "recorded",
    "enregistrees": "recorded", "enregistree": "recorded", "gagne": "won", "a gagne": "won", "ont gagne": "won",
    "pese": "weighs", "pesent": "weigh", "pesant": "weighing", "coute": "costs", "coutent": "cost",
    # --- numbers
    "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "six": "6", "sept": "7", "huit": "8", "neuf": "9",
    "dix": "10", "onze": "11", "douze": "12", "quinze": "15", "vingt": "20", "trente": "30", "cent": "100",
    "mille": "thousand", "million": "million", "millions": "million", "milliard": "billion",
    "milliards": "billion",
    # --- the data and its fields (a bilingual field-word list: the planner meets fields through these)
    "fichier": "file", "jeu de donnees": "dataset", "donnees": "data", "base de donnees": "database",
    "enregistrement": "record", "enregistrements": "records", "ligne": "row", "lignes": "rows",
    "entree": "entry", "entrees": "entries", "valeur": "value", "valeurs": "values", "champ": "field",
    "champs": "fields", "colonne": "column", "colonnes": "columns",
    "voiture": "car", "voitures": "cars", "vehicule": "car", "vehicules": "cars", "automobile": "car",
    "automobiles": "cars", "modele": "model", "modeles": "models", "marque": "make", "marques": "makes",
    "poids": "weight", "lourd": "heavy", "lourde": "heavy", "lourds": "heavy", "lourdes": "heavy",
    "cylindree": "displacement", "cylindrees": "displacement", "cylindre": "cylinder", "cylindres": "cylinders",
    "puissance": "horsepower", "chevaux": "horsepower", "cheval": "horsepower", "chevaux vapeur": "horsepower",
    "acceleration": "acceleration", "consommation": "mpg", "miles par gallon": "miles per gallon",
    "origine": "origin", "origines": "origins", "annee": "year", "annees": "years", "an": "year", "ans": "years",
    "nom": "name", "noms": "names", "prix": "price", "cout": "cost", "montant": "total", "montants": "totals",
    "quantite": "quantity", "quantites": "quantities", "commande": "order", "commandes": "orders",
    "client": "customer", "clients": "customers", "cliente": "customer", "clientes": "customers",
    "statut": "status", "etat": "status", "retourne": "returned", "retournee": "returned",
    "retournes": "returned", "retournees": "returned", "livree": "delivered", "livrees": "delivered", "expedie": "shipped", "expediee": "shipped",
    "expedies": "shipped", "expediees": "shipped", "annule": "cancelled", "annulee": "cancelled",
    "annules": "cancelled", "annulees": "cancelled", "en attente": "pending", "canal": "channel",
    "canaux": "channels", "produit": "product", "produits": "products", "article": "item", "articles": "items",
    "categorie": "category", "categories": "categories", "jour": "day", "jours": "days", "mois": "month",
    "semaine": "week", "semaines": "weeks", "heure": "hour", "heures": "hours", "pourboire": "tip",
    "medaille": "medal", "medailles": "medals", "medaille de or": "gold medal", "medailles de or": "gold medals",
    "medaille de argent": "silver medal", "medailles de argent": "silver medals", "medaille de bronze": "bronze medal",
    "medailles de bronze": "bronze medals", "er": "",
    "pourboires": "tips", "addition": "total bill", "note": "rating", "notes": "ratings", "sexe": "sex", "fumeur": "smoker",
    "fumeurs": "smokers", "fumeuse": "smoker", "fumeuses": "smokers", "non fumeuse": "non smoker",
    "non fumeuses": "non smokers", "non fumeur": "non smoker", "non fumeurs": "non smokers", "repas": "meal",
    "dejeuner": "lunch", "diner": "dinner", "taille": "size", "convives": "size", "personnes": "people",
    "femme": "woman", "femmes": "women", "homme": "man", "hommes": "men", "feminin": "female",
    "masculin": "male", "espece": "species", "especes": "species", "longueur": "length", "largeur": "width",
    "sepale": "sepal", "sepales": "sepals", "petale": "petal", "petales": "petals", "fleur": "flower",
    "fleurs": "flowers", "population": "population", "populations": "populations",
    "esperance de vie": "life expectancy", "pib par habitant": "gdpPercap", "pib": "gdp",
    "continent": "continent", "continents": "continents", "temperature": "temperature",
    "temperatures": "temperatures", "precipitation": "precipitation", "precipitations": "precipitation",
    "pluie": "rain", "pluvieux": "rainy", "vent": "wind", "vents": "wind", "meteo": "weather", "temps": "weather",
    "soleil": "sun", "ensoleille": "sunny", "ensoleilles": "sunny", "neige": "snow", "brouillard": "fog",
    "bruine": "drizzle", "aeroport": "airport", "aeroports": "airports", "ville": "city", "villes": "cities",
    "etat americain": "state", "code": "code", "codes": "codes", "capitale": "capital", "langue": "language",
    "langues": "languages", "monnaie": "currency", "monnaies": "currencies", "devise": "currency",
    "devises": "currencies", "subdivision": "subdivision", "subdivisions": "subdivisions", "region": "region",
    "regions": "regions", "type": "type", "types": "types", "officiel": "official", "officielle": "official",
    "officiels": "official", "officielles": "official", "commun": "common", "commune": "common",
    "numerique": "numeric", "numeriques": "numeric", "alpha 2": "alpha-2", "alpha 3": "alpha-3",
    "rendement": "yield", "rendements": "yields", "variete": "variety", "varietes": "varieties", "site": "site",
    "sites": "sites", "ouverture": "open", "cloture": "close", "cours": "price", "ble": "wheat",
    "salaire": "salary", "age": "age", "pays": "countries",
    # --- places as adjectives (values such as "Japan" or "USA" are met through them)
    "japonais": "japanese", "japonaise": "japanese", "japonaises": "japanese", "americain": "american",
    "americaine": "american", "americains": "american", "americaines": "american", "europeen": "european",
    "europeenne": "european", "europeens": "european", "europeennes": "european", "allemand": "german",
    "allemande": "german", "allemands": "german", "allemandes": "german", "francais": "french",
    "francaise": "french", "francaises": "french", "britannique": "british", "britanniques": "british",
    "chinois": "chinese", "chinoise": "chinese", "chinoises": "chinese", "italien": "italian",
    "italienne": "italian", "italiens": "italian", "italiennes": "italian", "espagnol": "spanish",
    "espagnole": "spanish", "espagnols": "spanish", "espagnoles": "spanish", "africain": "african",
    "africaine": "african", "africains": "african", "africaines": "african", "asiatique": "asian",
    "asiatiques": "asian", "canadien": "canadian", "canadienne": "canadian", "canadiens": "canadian",
    "canadiennes": "canadian",
}
"""French words and phrases (folded; "à" and "où" keep their accent) -> the planner's words ("" drops a word that
only French grammar needs). Contractions and elisions in a phrase are opened when the lexicon is read ("au moins"
is looked up as "à le moins")."""

ACCENTED = {"livré": "delivered", "livrés": "delivered", "livre": "lb", "livres": "lbs"}
"""Words whose accent changes the word ("livres", pounds; "livrés", delivered): looked up as written first."""

SUPERLATIVES: dict[str, tuple[str, str]] = {
    "lourd": ("heaviest", "lightest"), "leger": ("lightest", "heaviest"), "grand": ("largest", "smallest"),
    "petit": ("smallest", "largest"), "eleve": ("highest", "lowest"), "haut": ("highest", "lowest"),
    "bas": ("lowest", "highest"), "basse": ("lowest", "highest"), "faible": ("lowest", "highest"),
    "fort": ("highest", "lowest"), "rapide": ("fastest", "slowest"), "lent": ("slowest", "fastest"),
    "puissant": ("most powerful", "least powerful"), "cher": ("most expensive", "cheapest"),
    "peuple": ("most populous", "least populous"), "ancien": ("oldest", "newest"), "vieux": ("oldest", "newest"),
    "vieille": ("oldest", "newest"), "recent": ("latest", "earliest"), "jeune": ("youngest", "oldest"),
    "long": ("longest", "shortest"), "longue": ("longest", "shortest"), "court": ("shortest", "longest"),
    "chaud": ("hottest", "coldest"), "froid": ("coldest", "hottest"), "venteux": ("windiest", "least windy"),
    "venteuse": ("windiest", "least windy"), "pluvieux": ("wettest", "driest"), "pluvieuse": ("wettest", "driest"),
    "humide": ("wettest", "driest"), "sec": ("driest", "wettest"), "seche": ("driest", "wettest"),
    "econome": ("most efficient", "least efficient"), "sobre": ("most efficient", "least efficient"),
    "gros": ("largest", "smallest"), "grosse": ("largest", "smallest"), "important": ("largest", "smallest"),
    "nombreux": ("most", "fewest"), "nombreuse": ("most", "fewest"), "genereux": ("largest", "smallest"),
    "elevee": ("highest", "lowest"), "grande": ("largest", "smallest"), "petite": ("smallest", "largest"),
    "lourde": ("heaviest", "lightest"), "legere": ("lightest", "heaviest"),
    "puissante": ("most powerful", "least powerful"), "chere": ("most expensive", "cheapest"),
    "peuplee": ("most populous", "least populous"), "ancienne": ("oldest", "newest"),
    "recente": ("latest", "earliest"), "courte": ("shortest", "longest"), "chaude": ("hottest", "coldest"),
    "froide": ("coldest", "hottest"), "lente": ("slowest", "fastest"), "forte": ("highest", "lowest"),
}
"""Adjectives after "le plus" / "le moins" (masculine or feminine singular; plurals fold to them) -> the
English superlative of "plus" and of "moins"."""

POSTNOMINAL = frozenset({
    "average", "median", "total", "maximum", "minimum", "different", "distinct", "unique", "official", "common",
    "numeric", "japanese", "american", "european", "german", "french", "british", "chinese", "italian", "spanish",
    "african", "asian", "canadian", "returned", "delivered", "shipped", "cancelled", "pending", "female", "male",
    "heavy", "rainy", "sunny", "alpha-2", "alpha-3",
})
"""Planner words from adjectives French writes after their noun ("le poids moyen", "les voitures japonaises"):
put before the noun they follow."""

PLURAL_AFTER = frozenset({"de", "les", "des", "ces", "combien", "tous", "toutes", "quels", "quelles", "plusieurs",
                          "premiers", "premieres", "derniers", "dernieres", "meilleurs", "meilleures"})
"""A word invariant in French ("pays", "prix") is read plural after these, singular otherwise."""

INVARIANT_PLURALS = {"pays": ("country", "countries"), "prix": ("price", "prices"), "mois": ("month", "months"),
                     "poids": ("weight", "weight"), "repas": ("meal", "meals")}
"""Words spelled the same in the singular and the plural: (singular, plural)."""

_DE_BEFORE_VOWEL = re.compile(r"\b([Dd])e (?=[aeiouyàâäéèêëîïôöùûüAEIOUYÀÂÉÈÊÎÔÛ])")


def polish(text: str) -> str:
    """A sentence put together from templates, written as French writes it: "de" elided before a vowel
    ("nombre de enregistrements" -> "nombre d'enregistrements")."""
    return _DE_BEFORE_VOWEL.sub(r"\1'", text)
