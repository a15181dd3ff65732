/**
 * The native and English names of the locales Tornado knows, keyed by code.
 *
 * This is data, not logic: the same table as Tornado's `_locale_data.py` (one typo fixed in an
 * English name). A {@link Locale}'s `name` is looked up here; a code missing from the table is
 * named `Unknown`, as in Tornado.
 * @module
 */

/** One entry of {@link LOCALE_NAMES}. */
export interface LocaleName {
  /** The language's name in English, e.g. `Spanish`. */
  readonly nameEn: string;
  /** The language's name in itself, e.g. `Español`. */
  readonly name: string;
}

/**
 * Native and English names of the locales Tornado ships names for, e.g.
 * `LOCALE_NAMES.es_LA.name === 'Español'` and `LOCALE_NAMES.zh_CN.name === '中文(简体)'`.
 *
 * @example
 * ```ts
 * import { LOCALE_NAMES } from 'typhoon/locale';
 * for (const [code, { name }] of Object.entries(LOCALE_NAMES)) console.log(code, name);
 * ```
 * Tornado: `tornado.locale.LOCALE_NAMES`.
 */
// Prototype-free, so a code such as `constructor` finds no entry.
export const LOCALE_NAMES: Readonly<Record<string, LocaleName>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, LocaleName>, {
    af_ZA: { nameEn: 'Afrikaans', name: 'Afrikaans' },
    am_ET: { nameEn: 'Amharic', name: 'አማርኛ' },
    ar_AR: { nameEn: 'Arabic', name: 'العربية' },
    bg_BG: { nameEn: 'Bulgarian', name: 'Български' },
    bn_IN: { nameEn: 'Bengali', name: 'বাংলা' },
    bs_BA: { nameEn: 'Bosnian', name: 'Bosanski' },
    ca_ES: { nameEn: 'Catalan', name: 'Català' },
    cs_CZ: { nameEn: 'Czech', name: 'Čeština' },
    cy_GB: { nameEn: 'Welsh', name: 'Cymraeg' },
    da_DK: { nameEn: 'Danish', name: 'Dansk' },
    de_DE: { nameEn: 'German', name: 'Deutsch' },
    el_GR: { nameEn: 'Greek', name: 'Ελληνικά' },
    en_GB: { nameEn: 'English (UK)', name: 'English (UK)' },
    en_US: { nameEn: 'English (US)', name: 'English (US)' },
    es_ES: { nameEn: 'Spanish (Spain)', name: 'Español (España)' },
    es_LA: { nameEn: 'Spanish', name: 'Español' },
    et_EE: { nameEn: 'Estonian', name: 'Eesti' },
    eu_ES: { nameEn: 'Basque', name: 'Euskara' },
    fa_IR: { nameEn: 'Persian', name: 'فارسی' },
    fi_FI: { nameEn: 'Finnish', name: 'Suomi' },
    fr_CA: { nameEn: 'French (Canada)', name: 'Français (Canada)' },
    fr_FR: { nameEn: 'French', name: 'Français' },
    ga_IE: { nameEn: 'Irish', name: 'Gaeilge' },
    gl_ES: { nameEn: 'Galician', name: 'Galego' },
    he_IL: { nameEn: 'Hebrew', name: 'עברית' },
    hi_IN: { nameEn: 'Hindi', name: 'हिन्दी' },
    hr_HR: { nameEn: 'Croatian', name: 'Hrvatski' },
    hu_HU: { nameEn: 'Hungarian', name: 'Magyar' },
    id_ID: { nameEn: 'Indonesian', name: 'Bahasa Indonesia' },
    is_IS: { nameEn: 'Icelandic', name: 'Íslenska' },
    it_IT: { nameEn: 'Italian', name: 'Italiano' },
    ja_JP: { nameEn: 'Japanese', name: '日本語' },
    ko_KR: { nameEn: 'Korean', name: '한국어' },
    lt_LT: { nameEn: 'Lithuanian', name: 'Lietuvių' },
    lv_LV: { nameEn: 'Latvian', name: 'Latviešu' },
    mk_MK: { nameEn: 'Macedonian', name: 'Македонски' },
    ml_IN: { nameEn: 'Malayalam', name: 'മലയാളം' },
    ms_MY: { nameEn: 'Malay', name: 'Bahasa Melayu' },
    nb_NO: { nameEn: 'Norwegian (bokmal)', name: 'Norsk (bokmål)' },
    nl_NL: { nameEn: 'Dutch', name: 'Nederlands' },
    nn_NO: { nameEn: 'Norwegian (nynorsk)', name: 'Norsk (nynorsk)' },
    pa_IN: { nameEn: 'Punjabi', name: 'ਪੰਜਾਬੀ' },
    pl_PL: { nameEn: 'Polish', name: 'Polski' },
    pt_BR: { nameEn: 'Portuguese (Brazil)', name: 'Português (Brasil)' },
    pt_PT: { nameEn: 'Portuguese (Portugal)', name: 'Português (Portugal)' },
    ro_RO: { nameEn: 'Romanian', name: 'Română' },
    ru_RU: { nameEn: 'Russian', name: 'Русский' },
    sk_SK: { nameEn: 'Slovak', name: 'Slovenčina' },
    sl_SI: { nameEn: 'Slovenian', name: 'Slovenščina' },
    sq_AL: { nameEn: 'Albanian', name: 'Shqip' },
    sr_RS: { nameEn: 'Serbian', name: 'Српски' },
    sv_SE: { nameEn: 'Swedish', name: 'Svenska' },
    sw_KE: { nameEn: 'Swahili', name: 'Kiswahili' },
    ta_IN: { nameEn: 'Tamil', name: 'தமிழ்' },
    te_IN: { nameEn: 'Telugu', name: 'తెలుగు' },
    th_TH: { nameEn: 'Thai', name: 'ภาษาไทย' },
    tl_PH: { nameEn: 'Filipino', name: 'Filipino' },
    tr_TR: { nameEn: 'Turkish', name: 'Türkçe' },
    uk_UA: { nameEn: 'Ukrainian', name: 'Українська' },
    vi_VN: { nameEn: 'Vietnamese', name: 'Tiếng Việt' },
    zh_CN: { nameEn: 'Chinese (Simplified)', name: '中文(简体)' },
    zh_TW: { nameEn: 'Chinese (Traditional)', name: '中文(繁體)' },
  }),
);
