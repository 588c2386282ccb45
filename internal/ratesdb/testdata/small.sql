--
-- A plain pg_dump in the shape of the reference rates.sql, cut down.
--

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
SET default_with_oids = false;

CREATE TABLE public.ports (
    code text NOT NULL,
    name text NOT NULL,
    parent_slug text NOT NULL
);

CREATE TABLE public.prices (
    orig_code text NOT NULL,
    dest_code text NOT NULL,
    day date NOT NULL,
    price integer NOT NULL
);

CREATE TABLE public.regions (
    slug text NOT NULL,
    name text NOT NULL,
    parent_slug text
);

COPY public.ports (code, name, parent_slug) FROM stdin;
CNGGZ	Guangzhou	china_south_main
EETLL	Tallinn	baltic_main
\.

COPY public.prices (orig_code, dest_code, day, price) FROM stdin;
CNGGZ	EETLL	2021-01-31	1100
CNGGZ	EETLL	2021-01-31	1200
CNGGZ	EETLL	2021-01-31	1163
CNGGZ	EETLL	2021-01-30	900
\.

COPY public.regions (slug, name, parent_slug) FROM stdin;
china_main	China Main	\N
china_south_main	China South Main	china_main
baltic_main	Baltic Main	\N
\.

ALTER TABLE ONLY public.ports
    ADD CONSTRAINT ports_pkey PRIMARY KEY (code);

ALTER TABLE ONLY public.regions
    ADD CONSTRAINT regions_pkey PRIMARY KEY (slug);

ALTER TABLE ONLY public.ports
    ADD CONSTRAINT ports_parent_slug_fkey FOREIGN KEY (parent_slug) REFERENCES public.regions(slug);
