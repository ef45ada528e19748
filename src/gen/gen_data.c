/* gen_data — PRNG, weighted tables, the generator's reference data and its
 * built-in lists.  See gen_impl.h. */
#include "gen/gen_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "common/text.h"
#include "refdata/refdata.h"
#include "common/str.h"

#define GEN_MAX_FILE (8u << 20)

/* ---------------------------------------------------------------- PRNG */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void gen_rng_seed(struct gen_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t gen_rng_next(struct gen_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double gen_rng_unit(struct gen_rng *r)
{
	return (double)(gen_rng_next(r) >> 11) * 0x1.0p-53;
}

uint32_t gen_rng_below(struct gen_rng *r, uint32_t n)
{
	/* Lemire's multiply-shift with rejection: unbiased. */
	uint64_t m = (uint64_t)(uint32_t)(gen_rng_next(r) >> 32) * n;
	uint32_t l = (uint32_t)m;
	if (l < n) {
		uint32_t t = (uint32_t)-n % n;
		while (l < t) {
			m = (uint64_t)(uint32_t)(gen_rng_next(r) >> 32) * n;
			l = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

int gen_rng_range(struct gen_rng *r, int lo, int hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int)gen_rng_below(r, (uint32_t)(hi - lo + 1));
}

bool gen_rng_chance(struct gen_rng *r, double p)
{
	return gen_rng_unit(r) < p;
}

double gen_rng_normal(struct gen_rng *r)
{
	/* Box-Muller; the second value is dropped to keep the stream simple. */
	double u1 = gen_rng_unit(r), u2 = gen_rng_unit(r);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint32_t gen_rng_poisson(struct gen_rng *r, double lambda)
{
	if (lambda <= 0)
		return 0;
	if (lambda < 30) {
		double l = exp(-lambda), p = 1.0;
		uint32_t k = 0;
		do {
			k++;
			p *= gen_rng_unit(r);
		} while (p > l);
		return k - 1;
	}
	double v = lambda + sqrt(lambda) * gen_rng_normal(r) + 0.5;
	return v < 0 ? 0 : (uint32_t)v;
}

uint64_t gen_hash64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

bool gen_grow(void **p, uint32_t *cap, uint32_t need, size_t size)
{
	if (need <= *cap)
		return true;
	uint64_t nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	if (nc > UINT32_MAX)
		nc = UINT32_MAX;
	void *np = realloc(*p, (size_t)nc * size);
	if (!np)
		return false;
	*p = np;
	*cap = (uint32_t)nc;
	return true;
}

/* ------------------------------------------------------- weighted tables */

bool gen_wtable_init(struct gen_wtable *t, const double *w, uint32_t n)
{
	t->n = 0;
	t->cum = malloc((n ? n : 1) * sizeof *t->cum);
	if (!t->cum)
		return false;
	double s = 0;
	for (uint32_t i = 0; i < n; i++) {
		s += w[i] > 0 ? w[i] : 0;
		t->cum[i] = s;
	}
	t->n = n;
	return true;
}

uint32_t gen_wtable_pick(const struct gen_wtable *t, struct gen_rng *r)
{
	if (t->n == 0)
		return 0;
	double v = gen_rng_unit(r) * t->cum[t->n - 1];
	uint32_t lo = 0, hi = t->n - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->cum[mid] > v)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void gen_wtable_free(struct gen_wtable *t)
{
	free(t->cum);
	t->cum = NULL;
	t->n = 0;
}

/* ------------------------------------------------ issued codici fiscali */

static uint32_t cfreg_hash(const char *code)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (int i = 0; i < CF_LEN; i++)
		h = (h ^ (unsigned char)code[i]) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 32));
}

static bool cfreg_rehash(struct gen_cfreg *reg, uint32_t nslot)
{
	uint32_t *slot = malloc((size_t)nslot * sizeof *slot);
	if (!slot)
		return false;
	memset(slot, 0xff, (size_t)nslot * sizeof *slot);
	for (uint32_t id = 0; id < reg->n; id++) {
		uint32_t h = cfreg_hash(reg->code[id]) & (nslot - 1);
		while (slot[h] != GEN_NONE)
			h = (h + 1) & (nslot - 1);
		slot[h] = id;
	}
	free(reg->slot);
	reg->slot = slot;
	reg->nslot = nslot;
	return true;
}

static bool cfreg_has(const struct gen_cfreg *reg, const char *code)
{
	if (!reg->nslot)
		return false;
	uint32_t h = cfreg_hash(code) & (reg->nslot - 1);
	while (reg->slot[h] != GEN_NONE) {
		if (!memcmp(reg->code[reg->slot[h]], code, CF_LEN))
			return true;
		h = (h + 1) & (reg->nslot - 1);
	}
	return false;
}

uint32_t gen_cfreg_issue(struct gen_cfreg *reg, const char base[CF_LEN + 1], int *level)
{
	char code[CF_LEN + 1];
	int lv;
	for (lv = 0; lv <= 7; lv++) {
		if (lv == 0)
			memcpy(code, base, CF_LEN + 1);
		else if (!cf_omocode(base, lv, code))
			return GEN_NONE;
		if (!cfreg_has(reg, code))
			break;
	}
	if (lv > 7)
		return GEN_NONE;
	if ((uint64_t)(reg->n + 1) * 2 > reg->nslot &&
	    !cfreg_rehash(reg, reg->nslot ? reg->nslot * 2 : 1u << 16))
		return GEN_NONE;
	if (!gen_grow((void **)&reg->code, &reg->cap, reg->n + 1, sizeof *reg->code))
		return GEN_NONE;
	uint32_t id = reg->n++;
	memcpy(reg->code[id], code, CF_LEN);
	uint32_t h = cfreg_hash(code) & (reg->nslot - 1);
	while (reg->slot[h] != GEN_NONE)
		h = (h + 1) & (reg->nslot - 1);
	reg->slot[h] = id;
	*level = lv;
	return id;
}

void gen_cfreg_free(struct gen_cfreg *reg)
{
	free(reg->code);
	free(reg->slot);
	memset(reg, 0, sizeof *reg);
}

/* -------------------------------------------------------- built-in lists */

static const char *const dugs[] = {
	"VIA", "PIAZZA", "VIALE", "CORSO", "VICOLO", "LARGO", "LOCALITA'",
	"CONTRADA", "STRADA", "BORGO", "SALITA", "PIAZZALE", "VIA VICINALE",
	"STRADA PROVINCIALE",
};

const char *gen_dug_name(unsigned i) { return dugs[i % (sizeof dugs / sizeof dugs[0])]; }
unsigned gen_dug_count(void) { return sizeof dugs / sizeof dugs[0]; }

/* Common Italian street names (odonimi): people, dates, places, saints,
 * trees.  An assumption of the generator, not a data file. */
static const char *const streets[] = {
	"ROMA", "GIUSEPPE GARIBALDI", "GIUSEPPE MAZZINI", "CAMILLO BENSO DI CAVOUR",
	"DANTE ALIGHIERI", "VITTORIO EMANUELE II", "UMBERTO I", "GIACOMO MATTEOTTI",
	"XX SETTEMBRE", "IV NOVEMBRE", "XXV APRILE", "II GIUGNO", "ANTONIO GRAMSCI",
	"GUGLIELMO MARCONI", "GIUSEPPE VERDI", "GIACOMO PUCCINI", "GIOACCHINO ROSSINI",
	"VINCENZO BELLINI", "ALESSANDRO MANZONI", "GIACOMO LEOPARDI", "FRANCESCO PETRARCA",
	"GIOVANNI BOCCACCIO", "UGO FOSCOLO", "GIOSUE' CARDUCCI", "GIOVANNI PASCOLI",
	"LUIGI PIRANDELLO", "GALILEO GALILEI", "LEONARDO DA VINCI", "MICHELANGELO BUONARROTI",
	"RAFFAELLO SANZIO", "CRISTOFORO COLOMBO", "AMERIGO VESPUCCI", "MARCO POLO",
	"NAZARIO SAURO", "CESARE BATTISTI", "FABIO FILZI", "ENRICO TOTI", "GOFFREDO MAMELI",
	"SILVIO PELLICO", "ALDO MORO", "GIOVANNI FALCONE", "PAOLO BORSELLINO",
	"DON GIOVANNI MINZONI", "DON LUIGI STURZO", "ALCIDE DE GASPERI", "LUIGI EINAUDI",
	"SANDRO PERTINI", "PIERO GOBETTI", "FRATELLI ROSSELLI", "FRATELLI BANDIERA",
	"FRATELLI CERVI", "PAPA GIOVANNI XXIII", "SAN FRANCESCO D'ASSISI",
	"SAN GIOVANNI BOSCO", "SANTA CATERINA DA SIENA", "SAN ROCCO", "SAN MARTINO",
	"SAN GIUSEPPE", "SANT'ANTONIO", "SAN GIORGIO", "SAN MICHELE", "SANTA MARIA",
	"MADONNA DELLE GRAZIE", "DELLA REPUBBLICA", "DELLA LIBERTA'", "DELLA PACE",
	"DELLA RESISTENZA", "DELLA VITTORIA", "DELLA COSTITUZIONE", "DEI MILLE",
	"DEL RISORGIMENTO", "DELL'INDIPENDENZA", "DELL'UNITA' D'ITALIA", "EUROPA", "ITALIA",
	"MARTIRI DELLA LIBERTA'", "CADUTI SUL LAVORO", "DEGLI ALPINI", "DEI BERSAGLIERI",
	"DELLE RIMEMBRANZE", "DELLA STAZIONE", "DEL MUNICIPIO", "DELLA CHIESA",
	"DEL CASTELLO", "DEL MULINO", "DEL PONTE", "DELLE SCUOLE", "DEL LAVORO",
	"DELL'ARTIGIANATO", "DELL'INDUSTRIA", "DEL COMMERCIO", "DEI TIGLI", "DEI PINI",
	"DEI CIPRESSI", "DELLE ROSE", "DEI GELSI", "DEGLI ULIVI", "DELLE VIOLE",
	"DEI CILIEGI", "DELLE QUERCE", "DEI CASTAGNI", "DELLE MIMOSE", "DELLE ORTENSIE",
	"DEL SOLE", "DEL MARE", "DEI PESCATORI", "DEL PORTO", "DEL BORGO",
	"DEL CAMPO SPORTIVO", "DEL CIMITERO", "DELLE ALPI", "DEGLI APPENNINI", "DEL PO",
	"MILANO", "TORINO", "NAPOLI", "FIRENZE", "VENEZIA", "BOLOGNA", "GENOVA",
	"PALERMO", "TRIESTE", "TRENTO", "BRESCIA", "NOVARA", "PIAVE", "ISONZO",
	"MONTE GRAPPA", "MONTE BIANCO", "CARSO", "VITTORIO VENETO", "GORIZIA", "FIUME",
	"DON LORENZO MILANI", "MADRE TERESA DI CALCUTTA", "GIUSEPPE DI VITTORIO",
	"FILIPPO TURATI", "BENEDETTO CROCE", "ENRICO FERMI", "ALESSANDRO VOLTA",
	"EVANGELISTA TORRICELLI", "ANTONIO MEUCCI", "GIOVANNI VERGA", "GRAZIA DELEDDA",
	"MARIA MONTESSORI", "NILDE IOTTI", "TINA ANSELMI", "RITA LEVI MONTALCINI",
	"GIUSEPPE PARINI", "VITTORIO ALFIERI", "CARLO GOLDONI", "TORQUATO TASSO",
	"LUDOVICO ARIOSTO", "NICCOLO' MACHIAVELLI", "GIAN LORENZO BERNINI", "TIZIANO",
	"ANTONIO CANOVA", "ARTURO TOSCANINI", "GAETANO DONIZETTI", "PIETRO MASCAGNI",
	"ANTONIO VIVALDI", "GIORDANO BRUNO", "TOMMASO CAMPANELLA", "CESARE BECCARIA",
	"NINO BIXIO", "GIUSEPPE MONTANELLI", "CARLO PISACANE", "CIRO MENOTTI",
	"PIER PAOLO PASOLINI", "ITALO CALVINO", "PRIMO LEVI", "EUGENIO MONTALE",
	"SALVATORE QUASIMODO", "GIUSEPPE UNGARETTI", "CESARE PAVESE", "ELSA MORANTE",
	"DELLE ARTI", "DEI MESTIERI", "DELLE INDUSTRIE", "PROVINCIALE", "NAZIONALE",
	"DEL CORSO", "DELLE FORNACI", "DELLA FONTANA", "DEI CAPPUCCINI", "DEL CONVENTO",
	"DEL SEMINARIO", "DEL TEATRO", "DELLE MURA", "PORTA NUOVA", "PORTA ROMANA",
	"DEL PARCO", "DEI GIARDINI", "DEL BOSCO", "DEL LAGO", "DEL FIUME", "DELLA VALLE",
	"DEL COLLE", "DEI CAMPI", "DEI VIGNETI", "DELLE VIGNE",
};

const char *gen_street_name(unsigned i) { return streets[i % (sizeof streets / sizeof streets[0])]; }
unsigned gen_street_count(void) { return sizeof streets / sizeof streets[0]; }

static const char *const frazioni[] = {
	"SAN MARTINO", "CASE NUOVE", "BORGO", "VILLA", "PIANO", "MOLINO", "CASALE",
	"COLLE", "FONTANA", "PONTE", "SANTA LUCIA", "CASTELNUOVO", "MONTE", "CERRETO",
	"POGGIO", "CROCE", "SAN PIETRO", "VALLE", "CASA BIANCA", "TORRE", "SANT'ANDREA",
	"CA' DE' FABBRI", "PRATO", "CHIESANUOVA",
};

const char *gen_frazione_name(unsigned i) { return frazioni[i % (sizeof frazioni / sizeof frazioni[0])]; }
unsigned gen_frazione_count(void) { return sizeof frazioni / sizeof frazioni[0]; }

#define CONV_CARE 10
static const char *const conv_names[] = {
	"RSA VILLA SERENA", "CASA DI RIPOSO SAN GIUSEPPE", "CASA ALBERGO PER ANZIANI",
	"CASA PROTETTA IL GIARDINO", "RSA SAN FRANCESCO", "CASA DI RIPOSO MADONNA DEL ROSARIO",
	"RESIDENZA PER ANZIANI I TIGLI", "RSA VILLA DEI PINI", "CASA DI RIPOSO SANTA MARIA",
	"RSA IL GIRASOLE",
	"CONVENTO DEI FRATI CAPPUCCINI", "MONASTERO DELLE CLARISSE",
	"COMUNITA' DELLE SUORE ORSOLINE", "CASA RELIGIOSA FIGLIE DI MARIA AUSILIATRICE",
	"SEMINARIO VESCOVILE",
};

const char *gen_conv_name(unsigned i) { return conv_names[i % (sizeof conv_names / sizeof conv_names[0])]; }
unsigned gen_conv_count(void) { return sizeof conv_names / sizeof conv_names[0]; }
unsigned gen_conv_care_count(void) { return CONV_CARE; }

/* First two digits of the real postcodes of each province (car-plate
 * abbreviation); the other three are derived (see docs/generator.md). */
static const struct {
	char sigla[3];
	int prefix;
} cap_prefixes[] = {
	{"AG", 92}, {"AL", 15}, {"AN", 60}, {"AO", 11}, {"AR", 52}, {"AP", 63},
	{"AT", 14}, {"AV", 83}, {"BA", 70}, {"BT", 76}, {"BL", 32}, {"BN", 82},
	{"BG", 24}, {"BI", 13}, {"BO", 40}, {"BZ", 39}, {"BS", 25}, {"BR", 72},
	{"CA", 9}, {"CL", 93}, {"CB", 86}, {"CE", 81}, {"CT", 95}, {"CZ", 88},
	{"CH", 66}, {"CO", 22}, {"CS", 87}, {"CR", 26}, {"KR", 88}, {"CN", 12},
	{"EN", 94}, {"FM", 63}, {"FE", 44}, {"FI", 50}, {"FG", 71}, {"FC", 47},
	{"FR", 3}, {"GE", 16}, {"GO", 34}, {"GR", 58}, {"IM", 18}, {"IS", 86},
	{"SP", 19}, {"AQ", 67}, {"LT", 4}, {"LE", 73}, {"LC", 23}, {"LI", 57},
	{"LO", 26}, {"LU", 55}, {"MC", 62}, {"MN", 46}, {"MS", 54}, {"MT", 75},
	{"ME", 98}, {"MI", 20}, {"MO", 41}, {"MB", 20}, {"NA", 80}, {"NO", 28},
	{"NU", 8}, {"OR", 9}, {"PD", 35}, {"PA", 90}, {"PR", 43}, {"PV", 27},
	{"PG", 6}, {"PU", 61}, {"PE", 65}, {"PC", 29}, {"PI", 56}, {"PT", 51},
	{"PN", 33}, {"PZ", 85}, {"PO", 59}, {"RG", 97}, {"RA", 48}, {"RC", 89},
	{"RE", 42}, {"RI", 2}, {"RN", 47}, {"RM", 0}, {"RO", 45}, {"SA", 84},
	{"SS", 7}, {"SV", 17}, {"SI", 53}, {"SR", 96}, {"SO", 23}, {"SU", 9},
	{"TA", 74}, {"TE", 64}, {"TR", 5}, {"TO", 10}, {"TP", 91}, {"TN", 38},
	{"TV", 31}, {"TS", 34}, {"UD", 33}, {"VA", 21}, {"VE", 30}, {"VB", 28},
	{"VC", 13}, {"VR", 37}, {"VV", 89}, {"VI", 36}, {"VT", 1}, {"CI", 9},
	{"VS", 9}, {"OG", 8}, {"OT", 7},
};

int gen_cap_prefix(const char *sigla)
{
	for (size_t i = 0; i < sizeof cap_prefixes / sizeof cap_prefixes[0]; i++)
		if (!strcmp(cap_prefixes[i].sigla, sigla))
			return cap_prefixes[i].prefix;
	return -1;
}

/* Most frequent names of the resident population as a whole (ISTAT), used
 * to age the first names of people born before 1965. */
static const char *const trad_names[2][GEN_TRAD_NAMES] = {
	{"GIUSEPPE", "GIOVANNI", "ANTONIO", "MARIO", "LUIGI", "FRANCESCO", "ANGELO",
	 "VINCENZO", "PIETRO", "SALVATORE", "CARLO", "FRANCO", "DOMENICO", "BRUNO",
	 "PAOLO", "MICHELE", "GIORGIO", "ALDO", "SERGIO", "GIULIANO", "RENATO", "UMBERTO",
	 "ROBERTO", "ENZO", "GINO", "NICOLA", "RAFFAELE", "GIANNI", "ALBERTO", "ENRICO"},
	{"MARIA", "ANNA", "GIUSEPPINA", "ROSA", "ANGELA", "GIOVANNA", "TERESA",
	 "LUCIA", "CARMELA", "CATERINA", "FRANCESCA", "ANNA MARIA", "ANTONIETTA",
	 "CARLA", "ELENA", "CONCETTA", "RITA", "MARGHERITA", "FRANCA", "PAOLA", "LUCIANA",
	 "GRAZIA", "ADRIANA", "BRUNA", "LUISA", "GIULIANA", "ELISABETTA", "SILVANA",
	 "LILIANA", "GABRIELLA"},
};

/* Built-in name lists of the largest foreign communities: an assumption of
 * the generator (there is no data file), kept to Latin-1 letters. */
struct grp_lists {
	const char *const *m, *const *f, *const *s;
};

static const char *const ro_m[] = {"ANDREI", "ALEXANDRU", "IONUŢ", "MIHAI", "ADRIAN",
	"CRISTIAN", "FLORIN", "GHEORGHE", "VASILE", "CONSTANTIN", "DANIEL", "MARIUS",
	"BOGDAN", "ŞTEFAN", "NICOLAE", "ION", NULL};
static const char *const ro_f[] = {"ELENA", "MARIA", "IOANA", "ANDREEA", "MIHAELA",
	"GABRIELA", "ALINA", "CRISTINA", "DANIELA", "FLORENTINA", "LOREDANA", "ROXANA",
	"NICOLETA", "ANA", NULL};
static const char *const ro_s[] = {"POPESCU", "POPA", "IONESCU", "POP", "RADU",
	"DUMITRU", "STAN", "STOICA", "GHEORGHE", "MATEI", "CIOBANU", "RUSU", "CONSTANTIN",
	"MUNTEANU", "LUPU", "MOLDOVAN", "CRISTEA", "TOMA", "BĂLAN", "SÂRBU", "NISTOR",
	"ENACHE", NULL};
static const char *const al_m[] = {"ARBEN", "ERVIN", "GENTIAN", "ARDIT", "ALBAN", "ILIR",
	"BESNIK", "FATMIR", "ENDRIT", "KLEVIS", "ERJON", "DRITAN", "AGRON", NULL};
static const char *const al_f[] = {"ERMIRA", "ANILA", "ELONA", "BLERTA", "ENKELEJDA",
	"ALBANA", "ARJOLA", "DORINA", "FLUTURA", "MIRELA", "JONIDA", "ELISABETA", NULL};
static const char *const al_s[] = {"HOXHA", "SHEHU", "KOLA", "LLESHI", "DOKA", "GJONI",
	"BERISHA", "KRASNIQI", "GASHI", "DEDA", "MUSTAFA", "HASANI", "LIKA", "ÇELA",
	"BALLA", "PRENGA", "MEHMETI", NULL};
static const char *const ar_m[] = {"MOHAMED", "AHMED", "YOUSSEF", "MUSTAPHA", "KARIM",
	"HASSAN", "RACHID", "OMAR", "SAID", "ABDELLAH", "KHALID", "HAMZA", "ADAM", "AYOUB",
	"MOHAMMED", NULL};
static const char *const ar_f[] = {"FATIMA", "KHADIJA", "AICHA", "MARIAM", "NADIA",
	"SALMA", "HANANE", "LATIFA", "SAMIRA", "IMANE", "NAIMA", "MALAK", "HIBA", NULL};
static const char *const ar_s[] = {"EL IDRISSI", "BENALI", "EL AMRANI", "BOUZIDI",
	"ALAOUI", "HAMDI", "BENNANI", "EL MANSOURI", "HASSAN", "IBRAHIM", "MAHMOUD",
	"ABDELRAHMAN", "BEN SALEM", "TRABELSI", "SAIDI", "OUALI", "EL FASSI", "AIT ALI", NULL};
static const char *const zh_m[] = {"WEI", "JUN", "HAO", "JIAN", "MING", "LEI", "BIN",
	"YONG", "QIANG", "JIE", "XIAOMING", "JIANHUA", "ZHIWEI", NULL};
static const char *const zh_f[] = {"LING", "MEI", "XIAOLI", "YAN", "JING", "HUI", "FANG",
	"XIU", "YING", "LIHUA", "XIAOYAN", "YI", NULL};
static const char *const zh_s[] = {"HU", "WANG", "CHEN", "ZHOU", "LIN", "ZHANG", "LI",
	"LIU", "YE", "XU", "JIN", "WU", "HUANG", "PAN", "ZHENG", "DONG", NULL};
static const char *const sl_m[] = {"OLEKSANDR", "ANDRIY", "SERHIY", "IVAN", "DMYTRO",
	"MYKOLA", "VOLODYMYR", "PAVLO", "OLEH", "YURIY", "SERGEI", "TOMASZ", NULL};
static const char *const sl_f[] = {"OLENA", "NATALIA", "TETIANA", "OKSANA", "IRYNA",
	"SVITLANA", "HALYNA", "LIUDMYLA", "MARIIA", "ANNA", "VALENTYNA", "KATARZYNA", NULL};
static const char *const sl_s[] = {"KOVALENKO", "BONDARENKO", "SHEVCHENKO", "MELNYK",
	"KRAVCHENKO", "TKACHENKO", "BOYKO", "KOVALCHUK", "OLIINYK", "MOROZ", "PETRENKO",
	"NOWAK", "IVANOVA", NULL};
static const char *const sa_m[] = {"GURPREET", "HARPREET", "MANPREET", "RAJ", "AMIT",
	"MOHAMMAD", "MD", "RAHIM", "ABDUL", "IMRAN", "ALI", "KAMAL", "SHAHID", NULL};
static const char *const sa_f[] = {"SIMRAN", "PREETI", "RANI", "SUNITA", "FATEMA",
	"NASRIN", "SHAHNAZ", "RUKSANA", "AYESHA", "PARVEEN", "JASPREET", NULL};
static const char *const sa_s[] = {"SINGH", "KUMAR", "SHARMA", "HOSSAIN", "AHMED",
	"ISLAM", "RAHMAN", "MIAH", "KHAN", "ALI", "HUSSAIN", "UDDIN", "PERERA", "FERNANDO",
	"SILVA", NULL};
static const char *const hi_m[] = {"JOSÉ", "LUIS", "CARLOS", "JUAN", "JORGE", "MIGUEL",
	"JESÚS", "VÍCTOR", "CÉSAR", "DIEGO", "ÁNGEL", "EDWIN", "JHON", "JUAN CARLOS", NULL};
static const char *const hi_f[] = {"MARÍA", "ROSA", "ANA", "CARMEN", "JUANA", "GLADYS",
	"YESENIA", "LILIANA", "CLAUDIA", "PATRICIA", "KARINA", "SONIA", "MARÍA ELENA", NULL};
static const char *const hi_s[] = {"GARCÍA", "RODRÍGUEZ", "MARTÍNEZ", "LÓPEZ",
	"GONZÁLEZ", "PÉREZ", "SÁNCHEZ", "RAMÍREZ", "TORRES", "FLORES", "QUISPE", "MENDOZA",
	"CASTILLO", "CHÁVEZ", "VARGAS", "ROJAS", "PEÑA", "HUAMÁN", "GARCÍA LÓPEZ",
	"PÉREZ MENDOZA", NULL};
static const char *const ph_m[] = {"JOHN PAUL", "MARK", "JOSE", "RONALDO", "MICHAEL",
	"JOMAR", "RICARDO", "JERICHO", "ARNEL", NULL};
static const char *const ph_f[] = {"MARIA CRISTINA", "MARY GRACE", "JOCELYN", "ROWENA",
	"MARILOU", "JENNIFER", "ROSALIE", "MA. LOURDES", "MA. THERESA", NULL};
static const char *const ph_s[] = {"DELA CRUZ", "SANTOS", "REYES", "BAUTISTA", "GARCIA",
	"MENDOZA", "TORRES", "VILLANUEVA", "RAMOS", "AQUINO", "CASTILLO", "DE GUZMAN",
	"CRUZ", NULL};
static const char *const wa_m[] = {"MAMADOU", "IBRAHIMA", "MOUSSA", "OUSMANE", "CHEIKH",
	"ABDOULAYE", "MODOU", "EMMANUEL", "CHINEDU", "KWAME", "SAMUEL", "FRIDAY", "GODWIN",
	NULL};
static const char *const wa_f[] = {"FATOU", "AISSATOU", "MARIAMA", "AWA", "KHADY",
	"BLESSING", "JOY", "PRECIOUS", "GRACE", "ABENA", "ESTHER", NULL};
static const char *const wa_s[] = {"DIOP", "NDIAYE", "FALL", "SECK", "SOW", "DIALLO",
	"BA", "GUEYE", "CISSÉ", "TRAORÉ", "KONÉ", "OKAFOR", "OKEKE", "MENSAH", "OSEI",
	"ADEYEMI", "OBI", NULL};

static const struct grp_lists grp_lists[GRP_COUNT] = {
	[GRP_RO] = {ro_m, ro_f, ro_s}, [GRP_AL] = {al_m, al_f, al_s},
	[GRP_AR] = {ar_m, ar_f, ar_s}, [GRP_ZH] = {zh_m, zh_f, zh_s},
	[GRP_SL] = {sl_m, sl_f, sl_s}, [GRP_SA] = {sa_m, sa_f, sa_s},
	[GRP_HI] = {hi_m, hi_f, hi_s}, [GRP_PH] = {ph_m, ph_f, ph_s},
	[GRP_WA] = {wa_m, wa_f, wa_s},
};

/* Country (as named in paese_nascita_estero_italia.csv) -> name group. */
static const struct {
	const char *country;
	uint8_t group;
} country_groups[] = {
	{"Romania", GRP_RO}, {"Moldova", GRP_RO}, {"Albania", GRP_AL}, {"Kosovo", GRP_AL},
	{"Macedonia del Nord", GRP_AL}, {"Marocco", GRP_AR}, {"Egitto", GRP_AR},
	{"Tunisia", GRP_AR}, {"Algeria", GRP_AR}, {"Libia", GRP_AR}, {"Siria", GRP_AR},
	{"Iraq", GRP_AR}, {"Giordania", GRP_AR}, {"Libano", GRP_AR}, {"Palestina", GRP_AR},
	{"Sudan", GRP_AR}, {"Mauritania", GRP_AR}, {"Somalia", GRP_AR},
	{"Cina", GRP_ZH}, {"Taiwan", GRP_ZH}, {"Ucraina", GRP_SL},
	{"Federazione russa", GRP_SL}, {"Bielorussia", GRP_SL}, {"Polonia", GRP_SL},
	{"Bulgaria", GRP_SL}, {"Serbia", GRP_SL}, {"Bosnia-Erzegovina", GRP_SL},
	{"Croazia", GRP_SL}, {"Montenegro", GRP_SL}, {"Georgia", GRP_SL},
	{"Kazakhstan", GRP_SL}, {"India", GRP_SA}, {"Pakistan", GRP_SA},
	{"Bangladesh", GRP_SA}, {"Sri Lanka", GRP_SA}, {"Nepal", GRP_SA},
	{"Afghanistan", GRP_SA}, {"Perù", GRP_HI}, {"Ecuador", GRP_HI},
	{"Repubblica Dominicana", GRP_HI}, {"Colombia", GRP_HI}, {"Cuba", GRP_HI},
	{"Bolivia", GRP_HI}, {"El Salvador", GRP_HI}, {"Honduras", GRP_HI},
	{"Messico", GRP_HI}, {"Paraguay", GRP_HI}, {"Guatemala", GRP_HI},
	{"Nicaragua", GRP_HI}, {"Cile", GRP_HI}, {"Filippine", GRP_PH},
	{"Senegal", GRP_WA}, {"Nigeria", GRP_WA}, {"Ghana", GRP_WA}, {"Mali", GRP_WA},
	{"Costa d'Avorio", GRP_WA}, {"Burkina Faso", GRP_WA}, {"Gambia", GRP_WA},
	{"Guinea", GRP_WA}, {"Camerun", GRP_WA}, {"Togo", GRP_WA}, {"Benin", GRP_WA},
	{"Guinea-Bissau", GRP_WA}, {"Sierra Leone", GRP_WA}, {"Liberia", GRP_WA},
	{"Niger", GRP_WA}, {"Capo Verde", GRP_WA},
};

/* Names in the distribution that differ from the ANPR state names. */
static const struct {
	const char *country, *anpr;
} country_aliases[] = {
	{"Cina", "REPUBBLICA POPOLARE CINESE"},
	{"Macedonia del Nord", "REPUBBLICA DI MACEDONIA"},
	{"Serbia", "REPUBBLICA DI SERBIA"},
	{"Maurizio", "MAURITIUS"},
	{"Corea del Sud", "REPUBBLICA DI COREA"},
	{"Corea del Nord", "REPUBBLICA POPOLARE DEMOCRATICA DI COREA"},
	{"Palestina", "TERRITORI DELL'AUTONOMIA PALESTINESE"},
	{"Myanmar/Birmania", "MYANMAR"},
	{"Timor Leste", "TIMOR ORIENTALE"},
	{"Eswatini", "SWAZILAND"},
	{"Brunei Darussalam", "BRUNEI"},
	{"Santa Lucia", "SAINT LUCIA"},
};

/* Where Italians are born abroad and where they emigrate to. */
static const char *const expat_countries[] = {
	"Svizzera", "Germania", "Francia", "Regno Unito", "Belgio", "Argentina",
	"Brasile", "Venezuela", "Stati Uniti d'America", "Canada", "Australia",
	"Spagna", "Paesi Bassi", "Austria", "Libia", "Uruguay", "Lussemburgo",
};

/* The 110 provinces of the top-10 surname file whose name is not the name
 * of their chief town, with their car-plate abbreviation today. */
static const struct {
	const char *province;
	const char *sigla;
} province_aliases[] = {
	{"Forlì-Cesena", "FC"}, {"Pesaro Urbino", "PU"}, {"Monza e Brianza", "MB"},
	{"Barletta-Andria-Trani", "BT"}, {"Massa-Carrara", "MS"},
	{"Verbano-Cusio-Ossola", "VB"}, {"Carbonia-Iglesias", "SU"},
	{"Medio Campidano", "SU"}, {"Olbia-Tempio", "SS"}, {"Ogliastra", "NU"},
	{"Reggio Calabria", "RC"}, {"Reggio Emilia", "RE"}, {"Bolzano", "BZ"},
	{"Aosta", "AO"},
};

static const char *const region_names[21] = {
	"", "Piemonte", "Valle d'Aosta", "Lombardia", "Trentino Alto Adige", "Veneto",
	"Friuli-Venezia Giulia", "Liguria", "Emilia Romagna", "Toscana", "Umbria",
	"Marche", "Lazio", "Abruzzo", "Molise", "Campania", "Puglia", "Basilicata",
	"Calabria", "Sicilia", "Sardegna",
};

/* ---------------------------------------------------------------- loading */

uint32_t gen_str_add(struct gen_data *d, const char *s)
{
	if (!gen_grow((void **)&d->str, &d->capstr, d->nstr + 1, sizeof *d->str))
		return GEN_NONE;
	d->str[d->nstr] = s;
	return d->nstr++;
}

static bool fold_eq(const char *a, const char *b)
{
	char fa[128], fb[128];
	int na = text_fold_letters(a, strlen(a), fa, sizeof fa);
	int nb = text_fold_letters(b, strlen(b), fb, sizeof fb);
	return na > 0 && na == nb && !memcmp(fa, fb, (size_t)na);
}

/* Upper-cases ASCII and Latin-1 letters of UTF-8 text in place (the byte
 * length does not change). */
static void upcase_utf8(char *s)
{
	unsigned char *p = (unsigned char *)s;
	for (; *p; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p = (unsigned char)(*p - 32);
		else if (*p == 0xC3 && p[1] >= 0xA0 && p[1] <= 0xBE && p[1] != 0xB7)
			p[1] = (unsigned char)(p[1] - 0x20), p++;
		else if (*p == 0xC3 && p[1])
			p++;
	}
}

static char *read_file(const char *dir, const char *name, size_t *len, struct vis_error *e)
{
	return file_read_in(dir, name, GEN_MAX_FILE, len, "i dati del generatore", e);
}

/* NAME<TAB>weight lines. */
static vis_err load_names(struct gen_data *d, const char *dir, const char *file, char **bufp,
			  uint32_t **ids, uint32_t *n, struct gen_wtable *wt, struct vis_error *e)
{
	size_t len;
	char *buf = read_file(dir, file, &len, e);
	if (!buf)
		return VIS_ERR_IO;
	*bufp = buf;
	uint32_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += buf[i] == '\n';
	double *w = malloc(cap * sizeof *w);
	*ids = malloc(cap * sizeof **ids);
	if (!w || !*ids) {
		free(w);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	*n = 0;
	for (char *line = buf; line < buf + len;) {
		char *nl = memchr(line, '\n', (size_t)(buf + len - line));
		char *end = nl ? nl : buf + len;
		*end = '\0';
		char *tab = strchr(line, '\t');
		if (tab) {
			*tab = '\0';
			double wv = atof(tab + 1);
			if (*line && wv > 0 && text_name_valid(line, strlen(line))) {
				uint32_t id = gen_str_add(d, line);
				if (id == GEN_NONE) {
					free(w);
					return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
				}
				(*ids)[*n] = id;
				w[(*n)++] = wv;
			}
		}
		line = end + 1;
	}
	bool ok = *n > 0 && gen_wtable_init(wt, w, *n);
	free(w);
	if (!ok)
		return vis_error_set(e, VIS_ERR_INVALID, "%s: no names", file);
	return VIS_OK;
}

static vis_err load_surnames(struct gen_data *d, const char *dir, uint64_t seed,
			     struct vis_error *e)
{
	size_t len;
	char *buf = read_file(dir, "cognomi.txt", &len, e);
	if (!buf)
		return VIS_ERR_IO;
	d->buf_sur = buf;
	uint32_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += buf[i] == '\n';
	d->it.sur = malloc(cap * sizeof *d->it.sur);
	double *w = malloc(cap * sizeof *w);
	if (!d->it.sur || !w) {
		free(w);
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	}
	for (char *line = buf; line < buf + len;) {
		char *nl = memchr(line, '\n', (size_t)(buf + len - line));
		char *end = nl ? nl : buf + len;
		*end = '\0';
		if (end > line && end[-1] == '\r')
			end[-1] = '\0';
		upcase_utf8(line);
		if (*line && text_name_valid(line, strlen(line))) {
			uint32_t id = gen_str_add(d, line);
			if (id == GEN_NONE)
				break;
			d->it.sur[d->it.nsur++] = id;
		}
		line = end + 1;
	}
	/* Seeded order, then Zipf-Mandelbrot weights 1/(rank+60)^1.05. */
	struct gen_rng r;
	gen_rng_seed(&r, seed ^ 0x5552u);
	for (uint32_t i = d->it.nsur; i > 1; i--) {
		uint32_t j = gen_rng_below(&r, i);
		uint32_t t = d->it.sur[i - 1];
		d->it.sur[i - 1] = d->it.sur[j];
		d->it.sur[j] = t;
	}
	for (uint32_t i = 0; i < d->it.nsur; i++)
		w[i] = pow((double)i + 61.0, -1.05);
	bool ok = d->it.nsur > 0 && gen_wtable_init(&d->w_sur, w, d->it.nsur);
	free(w);
	if (!ok)
		return vis_error_set(e, VIS_ERR_INVALID, "cognomi.txt: no surnames");
	return VIS_OK;
}

static int region_code_of(const char *name)
{
	for (int i = 1; i <= 20; i++)
		if (fold_eq(region_names[i], name))
			return i;
	return 0;
}

static vis_err load_top10(struct gen_data *d, const char *dir, struct vis_error *e)
{
	size_t len;
	char *buf = read_file(dir, "cognomi_top10_province.csv", &len, e);
	if (!buf)
		return VIS_ERR_IO;
	d->buf_top = buf;
	d->prov = calloc(128, sizeof *d->prov);
	if (!d->prov)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	/* folded names of active municipalities, to find chief towns */
	size_t nrows = refdata_comune_count(d->rd);
	struct csv_reader r;
	char *f[CSV_MAX_FIELDS];
	int nf;
	csv_reader_init(&r, buf, len);
	if (csv_reader_next(&r, f) != 4)
		return vis_error_set(e, VIS_ERR_INVALID, "cognomi_top10_province.csv: bad header");
	char last[64] = "";
	struct gen_province *cur = NULL;
	while ((nf = csv_reader_next(&r, f)) != 0) {
		if (nf != 4)
			return vis_error_set(e, VIS_ERR_INVALID,
					     "cognomi_top10_province.csv: bad line %zu", r.line);
		if (strcmp(last, f[1])) {
			if (d->nprov == 128)
				break;
			if (!STR_COPY(last, f[1]))
				return vis_error_set(e, VIS_ERR_INVALID,
						     "cognomi_top10_province.csv: riga %zu: "
						     "provincia troppo lunga",
						     r.line);
			cur = &d->prov[d->nprov++];
			for (int i = 0; i < 10; i++)
				cur->top[i] = GEN_NONE;
			snprintf(cur->region, sizeof cur->region, "%02d", region_code_of(f[0]));
			for (size_t i = 0; i < sizeof province_aliases / sizeof province_aliases[0]; i++)
				if (!strcmp(province_aliases[i].province, f[1]))
					memcpy(cur->sigla, province_aliases[i].sigla, 3);
			for (size_t i = 0; !cur->sigla[0] && i < nrows; i++) {
				const struct ref_comune *c = refdata_comune_at(d->rd, i);
				if (c->active && fold_eq(c->name, f[1]))
					memcpy(cur->sigla, c->province, 3);
			}
		}
		int rank = atoi(f[2]);
		upcase_utf8(f[3]);
		if (rank >= 1 && rank <= 10 && text_name_valid(f[3], strlen(f[3])))
			cur->top[rank - 1] = gen_str_add(d, f[3]);
	}
	return VIS_OK;
}

static vis_err load_pyramid(struct gen_data *d, const char *dir, struct vis_error *e)
{
	size_t len;
	char *buf = read_file(dir, "distributions/eta_sesso_italia.csv", &len, e);
	if (!buf)
		return VIS_ERR_IO;
	struct csv_reader r;
	char *f[CSV_MAX_FIELDS];
	int nf;
	vis_err rc = VIS_OK;
	csv_reader_init(&r, buf, len);
	csv_reader_next(&r, f);
	static const double tail[6] = {0.45, 0.25, 0.14, 0.08, 0.05, 0.03};
	while ((nf = csv_reader_next(&r, f)) != 0) {
		if (nf < 3) {
			rc = vis_error_set(e, VIS_ERR_INVALID, "eta_sesso_italia.csv: bad line %zu", r.line);
			break;
		}
		double m = atof(f[1]), fe = atof(f[2]);
		if (!strcmp(f[0], "100+")) {
			for (int k = 0; k < 6; k++) {
				d->pyr[100 + k] = m * tail[k];
				d->pyr[GEN_AGES + 100 + k] = fe * tail[k];
			}
		} else {
			int a = atoi(f[0]);
			if (a >= 0 && a < 100) {
				d->pyr[a] = m;
				d->pyr[GEN_AGES + a] = fe;
			}
		}
	}
	free(buf);
	if (rc == VIS_OK && !gen_wtable_init(&d->w_pyr, d->pyr, 2 * GEN_AGES))
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	return rc;
}

static const struct ref_stato *stato_by_name(const struct refdata *rd, const char *name)
{
	const char *want = name;
	for (size_t i = 0; i < sizeof country_aliases / sizeof country_aliases[0]; i++)
		if (!strcmp(country_aliases[i].country, name))
			want = country_aliases[i].anpr;
	size_t n = refdata_stato_count(rd);
	for (size_t i = 0; i < n; i++) {
		const struct ref_stato *s = refdata_stato_at(rd, i);
		if (s->istat[0] && s->belfiore[0] && s->valid_to == 0 && fold_eq(s->anpr_name, want))
			return s;
	}
	return NULL;
}

static vis_err load_countries(struct gen_data *d, const char *dir, struct vis_error *e)
{
	size_t len;
	char *buf = read_file(dir, "distributions/paese_nascita_estero_italia.csv", &len, e);
	if (!buf)
		return VIS_ERR_IO;
	vis_err rc = VIS_OK;
	d->ctry = calloc(256, sizeof *d->ctry);
	d->expat = calloc(sizeof expat_countries / sizeof expat_countries[0], sizeof *d->expat);
	double *w = calloc(256, sizeof *w), *we = calloc(32, sizeof *we);
	if (!d->ctry || !d->expat || !w || !we) {
		rc = vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
		goto out;
	}
	struct csv_reader r;
	char *f[CSV_MAX_FIELDS];
	int nf;
	csv_reader_init(&r, buf, len);
	csv_reader_next(&r, f);
	while ((nf = csv_reader_next(&r, f)) != 0 && d->nctry < 256) {
		if (nf < 5) {
			rc = vis_error_set(e, VIS_ERR_INVALID,
					   "paese_nascita_estero_italia.csv: bad line %zu", r.line);
			goto out;
		}
		const struct ref_stato *s = stato_by_name(d->rd, f[1]);
		if (!s)
			continue; /* no ISTAT/cadastral code: cannot be a birth place */
		struct gen_country *c = &d->ctry[d->nctry];
		c->istat = (uint16_t)atoi(s->istat);
		memcpy(c->belfiore, s->belfiore, 5);
		c->weight = atof(f[4]);
		double m = atof(f[2]);
		c->male_share = c->weight > 0 ? m / c->weight : 0.5;
		c->group = GRP_IT;
		for (size_t i = 0; i < sizeof country_groups / sizeof country_groups[0]; i++)
			if (!strcmp(country_groups[i].country, f[1]))
				c->group = country_groups[i].group;
		/* most residents born in the countries of Italian emigration are
		 * Italian citizens: they weigh less as foreign citizens */
		double fw = c->weight;
		for (size_t i = 0; i < sizeof expat_countries / sizeof expat_countries[0]; i++)
			if (!strcmp(expat_countries[i], f[1])) {
				we[d->nexpat] = c->weight;
				d->expat[d->nexpat++] = d->nctry;
				fw *= 0.25;
			}
		w[d->nctry++] = fw;
	}
	if (!d->nctry || !d->nexpat || !gen_wtable_init(&d->w_foreign, w, d->nctry) ||
	    !gen_wtable_init(&d->w_expat, we, d->nexpat))
		rc = vis_error_set(e, VIS_ERR_INVALID, "paese_nascita_estero_italia.csv: no usable country");
out:
	free(w);
	free(we);
	free(buf);
	return rc;
}

static vis_err load_monthly(struct gen_data *d, const char *dir, struct vis_error *e)
{
	size_t len;
	char *buf = read_file(dir, "distributions/eventi_mensili_italia.csv", &len, e);
	if (!buf)
		return VIS_ERR_IO;
	struct csv_reader r;
	char *f[CSV_MAX_FIELDS];
	int nf, cnt[13] = {0};
	csv_reader_init(&r, buf, len);
	csv_reader_next(&r, f);
	while ((nf = csv_reader_next(&r, f)) != 0) {
		if (nf < 11)
			continue;
		int m = atoi(f[1]);
		double res = atof(f[10]);
		if (m < 1 || m > 12 || res <= 0)
			continue;
		d->r_same[m] += atof(f[2]) / res;
		d->r_region[m] += atof(f[3]) / res;
		d->r_other[m] += atof(f[4]) / res;
		d->r_out[m] += (atof(f[5]) + atof(f[7])) / res;
		d->r_back[m] += (atof(f[6]) + atof(f[8])) / res;
		cnt[m]++;
	}
	free(buf);
	for (int m = 1; m <= 12; m++) {
		if (!cnt[m])
			return vis_error_set(e, VIS_ERR_INVALID,
					     "eventi_mensili_italia.csv: manca il mese %d", m);
		d->r_same[m] /= cnt[m];
		d->r_region[m] /= cnt[m];
		d->r_other[m] /= cnt[m];
		d->r_out[m] /= cnt[m];
		d->r_back[m] /= cnt[m];
	}
	return VIS_OK;
}

static vis_err load_builtin(struct gen_data *d, struct vis_error *e)
{
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < GEN_TRAD_NAMES; i++) {
			/* only names that the data file knows, so the weights stay sane */
			const struct gen_names *it = &d->it;
			uint32_t *ids = s ? it->f : it->m;
			uint32_t n = s ? it->nf : it->nm;
			for (uint32_t k = 0; k < n; k++)
				if (!strcmp(d->str[ids[k]], trad_names[s][i])) {
					d->trad[s][d->ntrad[s]++] = ids[k];
					break;
				}
		}
	for (int g = 1; g < GRP_COUNT; g++) {
		const struct grp_lists *l = &grp_lists[g];
		struct gen_names *gn = &d->grp[g];
		const char *const *lists[3] = {l->m, l->f, l->s};
		uint32_t **out[3] = {&gn->m, &gn->f, &gn->sur};
		uint32_t *cnt[3] = {&gn->nm, &gn->nf, &gn->nsur};
		for (int k = 0; k < 3; k++) {
			uint32_t n = 0;
			while (lists[k][n])
				n++;
			*out[k] = malloc(n * sizeof **out[k]);
			if (!*out[k])
				return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
			for (uint32_t i = 0; i < n; i++) {
				if (!text_name_valid(lists[k][i], strlen(lists[k][i])))
					continue;
				uint32_t id = gen_str_add(d, lists[k][i]);
				if (id == GEN_NONE)
					return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
				(*out[k])[(*cnt[k])++] = id;
			}
			if (!*cnt[k])
				return vis_error_set(e, VIS_ERR_INTERNAL, "elenco di nomi interno "
									  "vuoto");
		}
	}
	return VIS_OK;
}

static vis_err load_active(struct gen_data *d, struct vis_error *e)
{
	d->nrows = refdata_comune_count(d->rd);
	d->active = malloc((d->nrows + 1) * sizeof *d->active);
	if (!d->active)
		return vis_error_set(e, VIS_ERR_NOMEM, "memoria esaurita");
	for (size_t i = 0; i < d->nrows; i++) {
		const struct ref_comune *c = refdata_comune_at(d->rd, i);
		if (c->active && c->belfiore[0])
			d->active[d->nactive++] = (uint32_t)i;
	}
	if (!d->nactive)
		return vis_error_set(e, VIS_ERR_INVALID, "nessun comune attivo nei dati di "
							 "riferimento");
	return VIS_OK;
}

vis_err gen_data_load(struct gen_data *d, const struct refdata *rd, const char *dir,
		      uint64_t seed, struct vis_error *e)
{
	memset(d, 0, sizeof *d);
	d->rd = rd;
	vis_err rc = load_names(d, dir, "nomi_m.txt", &d->buf_nm, &d->it.m, &d->it.nm, &d->w_nm, e);
	if (!rc)
		rc = load_names(d, dir, "nomi_f.txt", &d->buf_nf, &d->it.f, &d->it.nf, &d->w_nf, e);
	if (!rc)
		rc = load_surnames(d, dir, seed, e);
	if (!rc)
		rc = load_top10(d, dir, e);
	if (!rc)
		rc = load_pyramid(d, dir, e);
	if (!rc)
		rc = load_countries(d, dir, e);
	if (!rc)
		rc = load_monthly(d, dir, e);
	if (!rc)
		rc = load_builtin(d, e);
	if (!rc)
		rc = load_active(d, e);
	return rc;
}

void gen_data_free(struct gen_data *d)
{
	free(d->str);
	free(d->buf_nm);
	free(d->buf_nf);
	free(d->buf_sur);
	free(d->buf_top);
	free(d->it.m);
	free(d->it.f);
	free(d->it.sur);
	gen_wtable_free(&d->w_nm);
	gen_wtable_free(&d->w_nf);
	gen_wtable_free(&d->w_sur);
	for (int g = 0; g < GRP_COUNT; g++) {
		free(d->grp[g].m);
		free(d->grp[g].f);
		free(d->grp[g].sur);
	}
	free(d->prov);
	gen_wtable_free(&d->w_pyr);
	free(d->ctry);
	gen_wtable_free(&d->w_foreign);
	free(d->expat);
	gen_wtable_free(&d->w_expat);
	free(d->active);
	memset(d, 0, sizeof *d);
}
