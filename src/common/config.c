#include "common/config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "common/str.h"
#include "hooks/hooks.h"

/* Built-in defaults that depend on where the build installs (CMakeLists.txt,
 * VISURA_LAYOUT): the source tree, or the system's paths. */
#ifndef VISURA_DB_DEFAULT
#define VISURA_DB_DEFAULT "visura.db"
#endif

enum opt_type { OPT_STR, OPT_INT, OPT_BOOL };

struct option_row {
	const char *name;
	enum opt_type type;
	size_t offset;
	size_t size;        /* OPT_STR: buffer size */
	long min, max;      /* OPT_INT bounds */
	const char *def;
	const char *help;
};

#define STR(f, d, h) {#f, OPT_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0, d, h}
#define INT(f, lo, hi, d, h) {#f, OPT_INT, offsetof(struct config, f), 0, lo, hi, d, h}
#define BOOL(f, d, h) {#f, OPT_BOOL, offsetof(struct config, f), 0, 0, 1, d, h}

static const struct option_row rows[] = {
	STR(listen, "127.0.0.1:8443", "indirizzo:porta dell'ascolto HTTPS (IPv4 o [IPv6])"),
	STR(user, "", "avviato come root: l'utente da diventare dopo aver aperto le porte e letto "
		      "chiavi e certificati (obbligatorio come root; docs/deployment.md)"),
	STR(metrics_listen, "127.0.0.1:9464", "ascolto HTTP in chiaro per /metrics, /healthz, "
					      "/readyz (tenerlo su loopback o su una rete di "
					      "gestione; vuoto: spento)"),
	STR(db, VISURA_DB_DEFAULT, "database: sqlite:PERCORSO, un percorso, o postgres:CONNINFO "
				   "(docs/deployment.md)"),
	STR(shared_db, "", "PostgreSQL: il database compagno sullo stesso server che tiene lo stato "
			   "che le istanze riscrivono a ogni ricerca (limiti di frequenza, contatori "
			   "contro l'estrazione), postgres:CONNINFO; vuoto: nel database stesso "
			   "(docs/deployment.md)"),
	STR(tls_cert, "", "file PEM della catena di certificati"),
	STR(tls_key, "", "file PEM della chiave privata"),
	STR(client_ca, "", "certificato della CA dei certificati delle postazioni (vuoto: il file "
			   "del database + .ca-cert.pem, PostgreSQL: "
			   "$VISURA_STATE_DIR/visura-DBNAME.ca-cert.pem, se esiste)"),
	STR(log_file, "", "file di log (vuoto: stderr); riaperto su SIGHUP"),
	STR(signing_key, "", "chiave Ed25519 che firma ricevute, punti di controllo ed "
			     "esportazioni (vuoto: il file del database + .signing-key; "
			     "PostgreSQL: $VISURA_STATE_DIR/visura-DBNAME.signing-key)"),
	STR(trail_origin, "", "il nome del registro degli accessi di questa installazione, la "
			      "prima riga di ogni testa firmata (ASCII stampabile senza spazi, ad "
			      "esempio anagrafe.comune.example/visura; vuoto: visura/ e le prime "
			      "16 cifre esadecimali della metà pubblica della chiave di firma)"),
	STR(trail_heads_file, "", "un file, su un altro disco o volume, in fondo al quale si "
				  "aggiunge ogni testa firmata una volta confermata (vuoto: "
				  "nessuno); conservarlo: `visura audit verify --head FILE` prova "
				  "che il registro lo estende"),
	STR(trail_witnesses, "", "testimoni che controfirmano le teste firmate di questa "
				 "installazione, separati da ';', ciascuno 'NOME URL "
				 "FILE_CHIAVE_PUBBLICA': il nome della chiave del testimone, il "
				 "suo indirizzo https (POST URL/add-checkpoint), un file con la "
				 "sua chiave pubblica (visura witness keygen); vuoto: nessuno "
				 "(docs/audit.md, Witnesses)"),
	STR(trail_witness_ca, "", "file PEM dei certificati (o delle loro CA) considerati "
				  "affidabili per l'HTTPS dei testimoni (vuoto: le CA del "
				  "sistema)"),
	INT(trail_publish_grace, 0, 604800, "600", "secondi per cui una testa firmata può restare "
						   "non pubblicata (non aggiunta a "
						   "trail_heads_file, o non controfirmata da ogni "
						   "testimone di trail_witnesses) prima che le "
						   "richieste di dati personali siano rifiutate "
						   "con 503 trail_unpublished, finché non lo è (0: "
						   "mai rifiutare, lo dicono solo /readyz e il "
						   "log); nulla si richiede di ciò che non è "
						   "configurato"),
	STR(secrets_key, "", "chiave che sigilla nel database i segreti TOTP e le password "
			     "temporanee in coda (vuoto: il file del database + .secrets-key; "
			     "PostgreSQL: $VISURA_STATE_DIR/visura-DBNAME.secrets-key)"),
	STR(trusted_proxies, "", "proxy inversi (elenco CIDR) di cui si crede al client_ip_header"),
	STR(client_ip_header, "X-Forwarded-For", "intestazione in cui un proxy fidato mette "
						 "l'indirizzo del client (si usa la voce più a "
						 "destra)"),
	STR(smtp_url, "", "relay SMTP: smtps://host:porta, o smtp://host:porta con STARTTLS "
			  "obbligatorio; vuoto: la posta resta nella coda in uscita"),
	BOOL(smtp_plain_loopback, "false", "il relay è su questa macchina (smtp://127.0.0.1...): "
					   "SMTP in chiaro ammesso, e solo verso un indirizzo di "
					   "loopback"),
	STR(smtp_from, "visura@localhost", "indirizzo del mittente della posta in uscita"),
	STR(public_url, "", "l'indirizzo a cui gli utenti raggiungono il servizio (usato nella "
			    "posta)"),
	STR(print_heading, "Servizio anagrafico",
	    "l'intestazione della visura stampata e della pagina pubblica di verifica /verifica: "
	    "il nome del comune (o dell'unione) come intesta i suoi documenti, ad esempio Comune "
	    "di Valdoria"),
	STR(print_crest, "", "lo stemma stampato accanto a print_heading: un file PNG o SVG di al "
			     "massimo 256 KiB, letto all'avvio (vuoto: l'emblema neutro di visura, "
			     "lo stemma di nessun comune)"),
	STR(help_desk_contact, "", "i contatti dell'assistenza mostrati nella pagina di aiuto "
				   "dell'interfaccia (telefono, posta elettronica, ufficio)"),
	STR(help_desk_hours, "lunedì-venerdì 8:00-14:00",
	    "gli orari dell'assistenza mostrati nella pagina di aiuto"),
	STR(accessibility_url, "", "indirizzo https della dichiarazione di accessibilità, "
				   "collegata dalla pagina di aiuto"),
	STR(privacy_url, "", "indirizzo https dell'informativa sulla privacy, collegata dalla "
			     "pagina di aiuto"),
	STR(ui_dir, VISURA_UI_DIR, "cartella dell'interfaccia web (index.html e i suoi file), "
				   "letta all'avvio; vuoto: nessuna interfaccia"),
	STR(pdnd_jwks, "", "voucher PDND: un file JWKS delle chiavi pubbliche di PDND (vuoto: "
			   "nessun voucher accettato, salvo pdnd_jwks_url); letto all'avvio, su "
			   "SIGHUP, e di nuovo quando un voucher nomina una chiave (kid) che non "
			   "ha e il file è cambiato (docs/pdnd.md)"),
	STR(pdnd_jwks_url, "", "voucher PDND: l'indirizzo delle chiavi pubbliche di PDND (JWKS), "
			       "al posto di pdnd_jwks: https (http in chiaro solo verso loopback); "
			       "scaricato dopo l'avvio, ogni pdnd_jwks_refresh secondi, su SIGHUP, "
			       "e quando un voucher nomina una chiave (kid) che non ha, al massimo "
			       "una volta ogni jwks_unknown_kid_interval secondi; uno scaricamento "
			       "fallito o un documento non valido lascia le chiavi che ha "
			       "(docs/pdnd.md)"),
	STR(pdnd_jwks_ca_file, "", "voucher PDND: certificati delle CA per l'https di "
				   "pdnd_jwks_url (vuoto: quelli del sistema)"),
	INT(pdnd_jwks_refresh, 60, 86400, "3600", "voucher PDND: secondi tra due scaricamenti di "
						  "pdnd_jwks_url (predefinito un'ora; dopo uno "
						  "scaricamento fallito, "
						  "jwks_unknown_kid_interval)"),
	STR(pdnd_issuer, "", "voucher PDND: l'emittente (iss) che devono portare, come lo indica "
			     "la documentazione di PDND per l'ambiente (obbligatorio con pdnd_jwks "
			     "o pdnd_jwks_url)"),
	STR(pdnd_audience, "", "voucher PDND: il destinatario (aud) di questo e-service, come "
			       "registrato su PDND (obbligatorio con pdnd_jwks o pdnd_jwks_url)"),
	INT(pdnd_clock_skew, 0, 300, "60", "voucher PDND: secondi di differenza di orologio "
					   "tollerati su exp, nbf e iat"),
	INT(pdnd_token_max_bytes, 512, 16384, "4096", "voucher PDND: il voucher più lungo "
						      "accettato, in byte"),
	STR(pdnd_signing_key, "", "chiamate PDND, INTEGRITY_REST_02: la chiave di firma "
				  "dell'installazione (una JWK privata EC P-256 fatta da visura "
				  "pdnd keygen); con essa, una chiamata PDND con un corpo deve "
				  "portare Digest e Agid-JWT-Signature, ogni risposta a una "
				  "chiamata PDND li porta entrambi, e /.well-known/jwks.json "
				  "pubblica la chiave pubblica (vuoto: il pattern non è offerto)"),
	INT(pdnd_daily_calls_per_consumer, 0, 1000000000, "0", "chiamate PDND: il "
							       "dailyCallsPerConsumer "
							       "dell'e-service, chiamate al giorno "
							       "(giorno del calendario italiano) "
							       "da un ente, su tutte le istanze; "
							       "oltre, 429 fino a mezzanotte (0: "
							       "nessuna quota, solo i limiti delle "
							       "convenzioni)"),
	INT(pdnd_daily_calls_total, 0, 1000000000, "0", "chiamate PDND: il dailyCallsTotal "
							"dell'e-service, chiamate al giorno "
							"(giorno del calendario italiano) da tutti "
							"gli enti insieme, su tutte le istanze; "
							"oltre, 429 fino a mezzanotte (0: nessuna "
							"quota)"),
	STR(oidc_issuer, "", "accesso SPID/CIE (OpenID Connect): l'emittente del provider, il suo "
			     "entity id nella federazione (vuoto: nessun accesso SPID/CIE; "
			     "docs/spid-cie.md)"),
	STR(oidc_authorization_endpoint, "", "accesso SPID/CIE: l'authorization endpoint del "
					     "provider (https, o http su loopback)"),
	STR(oidc_token_endpoint, "", "accesso SPID/CIE: il token endpoint del provider"),
	STR(oidc_userinfo_endpoint, "", "accesso SPID/CIE: lo userinfo endpoint del provider"),
	STR(oidc_jwks, "", "accesso SPID/CIE: un file JWKS delle chiavi pubbliche di firma del "
			   "provider; letto all'avvio, su SIGHUP, e di nuovo quando un token "
			   "nomina una chiave (kid) che non ha e il file è cambiato"),
	STR(oidc_jwks_url, "", "accesso SPID/CIE: l'indirizzo delle chiavi pubbliche di firma del "
			       "provider (JWKS), al posto di oidc_jwks: https (http in chiaro solo "
			       "verso loopback), CA di oidc_ca_file; scaricato dopo l'avvio, ogni "
			       "oidc_jwks_refresh secondi, su SIGHUP, e quando un token nomina una "
			       "chiave (kid) che non ha, al massimo una volta ogni "
			       "jwks_unknown_kid_interval secondi; uno scaricamento fallito o un "
			       "documento non valido lascia le chiavi che ha"),
	INT(oidc_jwks_refresh, 60, 86400, "3600", "accesso SPID/CIE: secondi tra due scaricamenti "
						  "di oidc_jwks_url (predefinito un'ora; dopo uno "
						  "scaricamento fallito, "
						  "jwks_unknown_kid_interval)"),
	INT(jwks_unknown_kid_interval, 1, 3600, "60", "voucher PDND e accesso SPID/CIE: secondi "
						      "minimi tra due scaricamenti di un indirizzo "
						      "JWKS (pdnd_jwks_url, oidc_jwks_url) chiesti "
						      "da una chiave (kid) che non si ha, perché "
						      "kid falsi non facciano martellare da visura "
						      "chi pubblica le chiavi; anche l'attesa "
						      "prima di riprovare uno scaricamento "
						      "fallito"),
	STR(oidc_client_id, "", "accesso SPID/CIE: il client_id di questo relying party come "
				"registrato"),
	STR(oidc_redirect_uri, "", "accesso SPID/CIE: l'URI di redirect come registrato "
				   "(https://HOST/api/v1/auth/spid/callback)"),
	STR(oidc_key, "", "accesso SPID/CIE: la chiave privata del relying party (una JWK, fatta "
			  "al primo avvio se manca; vuoto: accanto al database, .oidc-key)"),
	STR(oidc_enc_key, "", "accesso SPID/CIE: la chiave privata RSA del relying party per lo "
			      "userinfo cifrato (una JWK, 4096 bit, fatta al primo avvio se manca; "
			      "vuoto: accanto al database, .oidc-enc-key)"),
	STR(oidc_ca_file, "", "accesso SPID/CIE: certificati delle CA per gli endpoint del "
			      "provider (vuoto: quelli del sistema)"),
	STR(oidc_log_dir, "", "accesso SPID/CIE: la cartella del log delle transazioni (vuoto: "
			      "accanto al database, .oidc-log)"),
	INT(oidc_level, 2, 3, "2", "accesso SPID/CIE: il livello SPID minimo accettato (2 o 3); un "
				   "ente può chiedere di più"),
	INT(oidc_clock_skew, 0, 300, "60", "accesso SPID/CIE: secondi di differenza di orologio "
					   "tollerati su exp e iat"),
	INT(oidc_log_days, 1, 3650, "730", "accesso SPID/CIE: giorni per cui si conserva il log "
					   "delle transazioni"),
	STR(oidc_federation_key, "", "federazione SPID/CIE: la chiave di federazione del relying "
				     "party, che firma la sua entity configuration (una JWK, fatta "
				     "al primo avvio se manca; vuoto: accanto al database, "
				     ".oidc-federation-key)"),
	STR(oidc_trust_anchor, "", "federazione SPID/CIE: l'entity id del trust anchor; se "
				   "indicato, gli endpoint e le chiavi del provider vengono dalla "
				   "sua catena di fiducia (vuoto: configurati a mano)"),
	STR(oidc_trust_anchor_jwks, "", "federazione SPID/CIE: un file JWKS delle chiavi pubbliche "
					"di federazione del trust anchor; riletto su SIGHUP, e "
					"quando uno statement nomina una chiave (kid) che non si "
					"ha e il file è cambiato da quando è stato letto (una "
					"rotazione non richiede un riavvio; un kid sconosciuto da "
					"solo non lo fa mai rileggere); un documento non valido "
					"lascia le chiavi che ha"),
	STR(oidc_authority_hints, "", "federazione SPID/CIE: i superiori del relying party (entity "
				      "id, separati da virgole) nella sua entity configuration"),
	STR(oidc_organization_name, "", "federazione SPID/CIE: il nome dell'organizzazione nei "
					"metadati del relying party"),
	STR(oidc_contacts, "", "federazione SPID/CIE: indirizzi di posta elettronica di contatto "
			       "nei metadati del relying party (separati da virgole)"),
	STR(oidc_op_trust_marks, "", "federazione SPID/CIE: gli identificativi dei trust mark che "
				     "il provider deve avere (separati da virgole; ciascuno un JWT "
				     "firmato dal trust anchor o da un emittente che questo indica "
				     "per quell'identificativo), o none per non richiederne; "
				     "obbligatorio con oidc_trust_anchor"),
	STR(oidc_trust_marks, "", "federazione SPID/CIE: un file con i trust mark del relying "
				  "party (un array JSON di {id, trust_mark}); vuoto: nessuno"),
	INT(oidc_entity_lifetime, 300, 2592000, "86400", "federazione SPID/CIE: secondi di "
							 "validità della entity configuration (il "
							 "suo exp)"),
	INT(threads, 1, 64, "2", "thread di lavoro"),
	INT(max_connections, 1, 100000, "1024", "connessioni aperte al massimo"),
	INT(per_ip_connections, 1, 10000, "64", "connessioni aperte da un indirizzo al massimo"),
	INT(connection_timeout, 1, 3600, "30", "secondi di inattività prima che una connessione "
					       "sia chiusa"),
	INT(max_body_kb, 1, 1048576, "256", "corpo di richiesta più grande accettato, KiB"),
	INT(max_import_mb, 1, 4096, "256", "file giornaliero più grande inviato a POST "
					   "/api/v1/imports, MiB (scritto man mano in un file "
					   "temporaneo accanto al database)"),
	INT(max_uploads_mb, 1, 1048576, "1024", "tutti i file inviati in ricezione nello stesso "
						"momento, MiB al massimo (i loro file temporanei); "
						"oltre, 503"),
	INT(feed_deadline_hours, 1, 720, "30", "un comune il cui ultimo file giornaliero è più "
					       "vecchio di così è in ritardo (allarme)"),
	INT(session_idle_minutes, 1, 1440, "15", "una sessione del browser finisce dopo tanta "
						 "inattività"),
	INT(session_absolute_hours, 1, CONFIG_SESSION_HOURS_MAX, "8", "una sessione del browser finisce tanto tempo dopo "
						"l'accesso"),
	INT(max_sessions, 1, 100, "3", "sessioni del browser attive che un'utenza può avere; un "
				       "nuovo accesso chiude le più vecchie oltre questo numero"),
	INT(login_lock_failures, 3, 100, "5", "accessi falliti di un'utenza prima di un blocco "
					      "temporaneo"),
	INT(login_lock_minutes, 1, 1440, "15", "il blocco più lungo"),
	INT(ip_lock_failures, 5, 10000, "20", "accessi falliti da un indirizzo prima di un blocco "
					      "temporaneo"),
	INT(temp_password_days, 1, 30, "7", "una password temporanea vale questo numero di giorni"),
	INT(password_max_age_days, 30, 366, "182", "una password va cambiata dopo questo numero di "
						   "giorni"),
	INT(credential_months, 1, 12, "12", "le credenziali durano questo numero di mesi dal "
					    "rilascio o dal rinnovo"),
	INT(renewal_window_days, 1, 120, "60", "il rinnovo si apre questo numero di giorni prima "
					       "della scadenza"),
	INT(alert_persons_hour, 1, 100000000, "100", "allarme: persone distinte che un'utenza "
						     "consulta in un'ora"),
	INT(alert_persons_hard, 1, 100000000, "300", "sospendere l'utenza a questo numero di "
						     "persone distinte in un'ora"),
	INT(alert_sequential, 2, 64, "5", "allarme: ricerche in un'ora di codici fiscali distinti "
					  "con i primi 11 caratteri uguali"),
	INT(alert_no_results_pct, 1, 100, "80", "allarme: quota di ricerche (ricerche, richieste "
						"per codice fiscale) senza risultato in un'ora (da "
						"20)"),
	INT(alert_repeat_no_case, 2, 16, "5", "allarme: una persona consultata così spesso in un "
					      "giorno senza un riferimento pratica"),
	INT(alert_refused_hour, 1, 1000000, "5", "allarme: tentativi respinti di un'utenza in "
						 "un'ora"),
	INT(alert_addresses, 2, 4, "3", "allarme: indirizzi da cui un'utenza è usata in 10 minuti"),
	INT(review_unused_days, 1, 3650, "182", "le utenze inutilizzate da questo numero di giorni "
						"sono segnalate, e i loro titolari avvisati"),
	INT(review_notice_days, 1, 365, "30", "un'utenza inutilizzata è disattivata questo numero "
					      "di giorni dopo l'avviso"),
	INT(citizen_notice_minutes, 60, 10080, "60", "avvisi per posta elettronica ai cittadini "
						     "delle nuove consultazioni "
						     "(docs/spid-cie.md): un messaggio per "
						     "cittadino al massimo ogni questo numero di "
						     "minuti, da 60 (un'ora) a 10080 (una "
						     "settimana); le consultazioni dell'intervallo "
						     "sono contate in un solo messaggio"),
	INT(embargo_days, 0, 3650, "365", "giorni per cui una consultazione di polizia o "
					  "giudiziaria resta fuori dal resoconto del cittadino"),
	INT(retention_months, 1, 240, "24", "mesi per cui si conserva il registro degli accessi "
					    "(visura audit purge)"),
	INT(stats_threshold_min, 2, 1000, "3", "statistiche: la soglia più piccola di soppressione "
					       "delle celle piccole che una richiesta può chiedere "
					       "(API e visura stats)"),
	INT(security_log_days, 183, 3650, "365", "giorni per cui si conservano gli eventi di "
						 "sicurezza (accessi, blocchi, modifiche delle "
						 "utenze), poi cancellati; almeno 183: sei mesi, "
						 "il minimo del Garante per i log degli accessi "
						 "degli amministratori"),
	INT(session_keep_days, 1, 365, "30", "giorni per cui si conserva una sessione finita "
					     "(inattiva, scaduta, uscita), poi cancellata"),
	INT(mail_keep_days, 7, 3650, "90", "giorni per cui si conserva un messaggio della posta "
					   "in uscita (inviato, non consegnato o mai inviato), "
					   "contati da quando è stato accodato, poi cancellato"),
	BOOL(test_clock, "false", "SOLO PER PROVE: permette a un client di spostare l'orologio del "
				  "server (solo il programma di prova visura-test accetta true)"),
};

#define NROWS (sizeof rows / sizeof rows[0])

static const struct option_row *find(const char *name)
{
	for (size_t i = 0; i < NROWS; i++)
		if (!strcmp(rows[i].name, name))
			return &rows[i];
	return NULL;
}

bool config_has(const char *name)
{
	return find(name) != NULL;
}

/* An address the interface may link to: empty, or https:// and nothing
 * a link could be made to run (no space, quote or angle bracket). */
static bool link_ok(const char *u)
{
	if (!*u)
		return true;
	if (strncmp(u, "https://", 8) || !u[8])
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("\"'<>\\`", *p))
			return false;
	return true;
}

/* The segments of the path of a URL ("https://h/a/b/" → 2). */
static int oidc_path_segments(const char *url)
{
	const char *sep = strstr(url, "://");
	const char *p = sep ? strchr(sep + 3, '/') : NULL;
	int n = 0;
	for (; p && *p && *p != '?' && *p != '#'; p++)
		if (*p == '/' && p[1] && p[1] != '/' && p[1] != '?' && p[1] != '#')
			n++;
	return n;
}

vis_err config_check(const struct config *c, struct vis_error *e)
{
	if (c->shared_db[0] && (strncmp(c->db, "postgres", 8) || strncmp(c->shared_db, "postgres", 8)))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "shared_db: un database PostgreSQL (postgres:CONNINFO) accanto a "
				     "un db PostgreSQL");
	if (!link_ok(c->accessibility_url) || !link_ok(c->privacy_url))
		return vis_error_set(e, VIS_ERR_INVALID, "accessibility_url e privacy_url devono "
							 "essere vuoti o un indirizzo https://");
	bool pdnd = c->pdnd_jwks[0] || c->pdnd_jwks_url[0];
	if (c->pdnd_jwks[0] && c->pdnd_jwks_url[0])
		return vis_error_set(e, VIS_ERR_INVALID,
				     "pdnd_jwks e pdnd_jwks_url: le chiavi di PDND da un file o da "
				     "un indirizzo, non entrambi");
	if (pdnd && (!c->pdnd_issuer[0] || !c->pdnd_audience[0]))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "pdnd_jwks (o pdnd_jwks_url) richiede pdnd_issuer e "
				     "pdnd_audience: un voucher si controlla rispetto a entrambi");
	if (c->pdnd_signing_key[0] && !pdnd)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "pdnd_signing_key firma le risposte alle chiamate PDND: "
				     "richiede pdnd_jwks o pdnd_jwks_url");
	if (c->oidc_jwks[0] && c->oidc_jwks_url[0])
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_jwks e oidc_jwks_url: le chiavi del provider da un file "
				     "o da un indirizzo, non entrambi");
	if (c->oidc_issuer[0] && (!c->oidc_client_id[0] || !c->oidc_redirect_uri[0]))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_issuer richiede oidc_client_id e oidc_redirect_uri");
	if (c->oidc_issuer[0] && oidc_path_segments(c->oidc_client_id) > 3)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_client_id: un percorso di al massimo tre segmenti (la "
				     "entity configuration si serve a quel percorso + "
				     "/.well-known/openid-federation)");
	if (c->oidc_issuer[0] && !c->oidc_trust_anchor[0] &&
	    (!c->oidc_authorization_endpoint[0] || !c->oidc_token_endpoint[0] ||
	     !c->oidc_userinfo_endpoint[0] || (!c->oidc_jwks[0] && !c->oidc_jwks_url[0])))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_issuer senza oidc_trust_anchor richiede "
				     "oidc_authorization_endpoint, oidc_token_endpoint, "
				     "oidc_userinfo_endpoint e oidc_jwks (o oidc_jwks_url)");
	if (c->oidc_trust_anchor[0] &&
	    (!c->oidc_issuer[0] || !c->oidc_trust_anchor_jwks[0] ||
	     c->oidc_authorization_endpoint[0] || c->oidc_token_endpoint[0] ||
	     c->oidc_userinfo_endpoint[0] || c->oidc_jwks[0] || c->oidc_jwks_url[0]))
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_trust_anchor richiede oidc_issuer (l'entity id del "
				     "provider) e oidc_trust_anchor_jwks; gli endpoint e le chiavi "
				     "del provider vengono allora dalla catena di fiducia: "
				     "lasciare vuoti oidc_*_endpoint, oidc_jwks e oidc_jwks_url");
	if (c->oidc_trust_anchor[0] && !c->oidc_op_trust_marks[0])
		return vis_error_set(e, VIS_ERR_INVALID,
				     "oidc_trust_anchor richiede oidc_op_trust_marks: gli "
				     "identificativi dei trust mark che il provider deve avere (il "
				     "profilo li richiede), o none");
	if (c->max_uploads_mb < c->max_import_mb)
		return vis_error_set(e, VIS_ERR_INVALID,
				     "max_uploads_mb (%d) deve essere almeno max_import_mb (%d): "
				     "un file della dimensione massima non si potrebbe mai "
				     "ricevere",
				     c->max_uploads_mb, c->max_import_mb);
	return VIS_OK;
}

static vis_err apply(struct config *c, const struct option_row *r, const char *value,
		     struct vis_error *e)
{
	char *field = (char *)c + r->offset;
	switch (r->type) {
	case OPT_STR:
		if (strlen(value) >= r->size)
			return vis_error_set(e, VIS_ERR_INVALID, "%s: valore troppo "
								 "lungo", r->name);
		strcpy(field, value);
		return VIS_OK;
	case OPT_INT: {
		int64_t v; /* digits only: strtol alone took " 5" and "+5" */
		if (r->min < 0 || !str_uint(value, r->max, &v) || v < r->min)
			return vis_error_set(e, VIS_ERR_INVALID, "%s: deve essere un numero intero "
								 "da %ld a %ld",
					     r->name, r->min, r->max);
		*(int *)field = (int)v;
		return VIS_OK;
	}
	case OPT_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1"))
			*(bool *)field = true;
		else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
			*(bool *)field = false;
		else
			return vis_error_set(e, VIS_ERR_INVALID, "%s: deve essere true "
								 "o false", r->name);
		return VIS_OK;
	}
	return VIS_ERR_INTERNAL;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < NROWS; i++)
		apply(c, &rows[i], rows[i].def, NULL);
}

vis_err config_set(struct config *c, const char *name, const char *value,
		   struct vis_error *e)
{
	const struct option_row *r = find(name);
	if (!r)
		return vis_error_set(e, VIS_ERR_INVALID, "opzione sconosciuta '%s'", name);
	vis_err rc = apply(c, r, value, e);
	if (rc == VIS_OK && c->test_clock && !hooks_enabled()) {
		c->test_clock = false;
		return vis_error_set(e, VIS_ERR_INVALID,
				     "test_clock: questo programma non ha i comandi di prova (solo "
				     "visura-test li ha)");
	}
	return rc;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

vis_err config_load_file(struct config *c, const char *path, struct vis_error *e)
{
	size_t len;
	char *buf = file_read_all(path, 1 << 20, &len);
	if (!buf)
		return vis_error_set(e, VIS_ERR_IO, "impossibile leggere la "
						    "configurazione '%s'", path);
	vis_err rc = VIS_OK;
	int lineno = 0;
	for (char *line = buf, *next; line && rc == VIS_OK; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = vis_error_set(e, VIS_ERR_INVALID, "%s:%d: expected 'name = value'", path, lineno);
			break;
		}
		*eq = '\0';
		struct vis_error local = {0};
		if (config_set(c, trim(s), trim(eq + 1), &local) != VIS_OK)
			rc = vis_error_set(e, VIS_ERR_INVALID, "%s:%d: %s", path, lineno, local.msg);
	}
	free(buf);
	return rc;
}

void config_print(const struct config *c, FILE *out)
{
	for (size_t i = 0; i < NROWS; i++) {
		const struct option_row *r = &rows[i];
		const char *field = (const char *)c + r->offset;
		fprintf(out, "# %s (predefinito: %s)\n", r->help, *r->def ? r->def : "vuoto");
		switch (r->type) {
		case OPT_STR: fprintf(out, "%s = %s\n\n", r->name, field); break;
		case OPT_INT: fprintf(out, "%s = %d\n\n", r->name, *(const int *)field); break;
		case OPT_BOOL: fprintf(out, "%s = %s\n\n", r->name, *(const bool *)field ? "true" : "false"); break;
		}
	}
}
