SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, ns.fire_rate AS st_fire_rate, ns.max AS st_max, ns.mean AS st_mean 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN neuron_stat AS ns ON ns.neuron_id = neuron.id AND ns.run_id IN (__[POSTCOMPILE_run_id_1]) 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND (ns.fire_rate > %(param_1)s OR ns.max < %(param_2)s) ORDER BY ns.mean DESC NULLS LAST, model.name COLLATE "C", neuron.site COLLATE "C", neuron.layer, neuron.unit 
 LIMIT %(param_3)s::INTEGER
-- parameters: {'run_id_1': [4], 'model_id_1': 2, 'site_1': 'mlp', 'param_1': 0.9, 'param_2': -1.5, 'param_3': 101}
